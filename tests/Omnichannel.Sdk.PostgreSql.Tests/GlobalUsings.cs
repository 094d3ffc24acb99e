global using Omnichannel.Sdk.PostgreSql;
global using Omnichannel.Sdk.Storage;
global using Xunit;
