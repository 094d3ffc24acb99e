global using Omnichannel.Sdk.Orleans;
global using Omnichannel.Sdk.Storage;
global using Xunit;
