using DevOrchestrator.Cli;

return await DevOrchestratorCli.RunAsync(args);
