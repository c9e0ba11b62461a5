namespace DevOrchestrator.Features.Workflows;

/// <summary>
/// The names of the development agent's tools, for a workflow's <c>agent_tools:</c> allow-list (the tools themselves
/// are the Agents feature's <c>WorkspaceTools</c>). <see cref="Finish"/> is always offered: without it an agent
/// could not end its work.
/// </summary>
public static class AgentToolNames
{
    public const string ListFiles = "list_files";
    public const string ReadFile = "read_file";
    public const string Search = "search";
    public const string Replace = "replace";
    public const string WriteFile = "write_file";
    public const string RunCommand = "run_command";
    public const string ShowDiff = "show_diff";
    public const string Finish = "finish";

    public static IReadOnlyList<string> All { get; } = [ListFiles, ReadFile, Search, Replace, WriteFile, RunCommand, ShowDiff, Finish];
}
