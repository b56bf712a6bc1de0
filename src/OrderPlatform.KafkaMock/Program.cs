using OrderPlatform.KafkaMock.Command;

return MockClusterCommand.Run(args);
