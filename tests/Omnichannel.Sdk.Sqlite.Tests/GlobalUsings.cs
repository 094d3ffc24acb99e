global using Omnichannel.Sdk.Sqlite;
global using Omnichannel.Sdk.Storage;
global using Xunit;
