global using Omnichannel.Sdk.Testing;
global using Xunit;
