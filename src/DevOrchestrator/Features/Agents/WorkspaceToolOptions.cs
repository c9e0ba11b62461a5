using DevOrchestrator.Features.Workspaces;

namespace DevOrchestrator.Features.Agents;

/// <summary>Limits of the workspace tools.</summary>
/// <param name="CommandTimeout">Time limit of one <c>run_command</c> (and of the git commands behind <c>show_diff</c>).</param>
/// <param name="MaxOutputChars">Longest tool result; longer ones keep their head and tail.</param>
/// <param name="ProtectedPatterns">Files never read or written; null means <see cref="WorkspaceActions.ProtectedPatterns"/>.
/// A pattern without <c>/</c> matches a file name anywhere, one with <c>/</c> the path from the root; case does not matter.</param>
/// <param name="Caches">The project's package caches, bound into every command (filled by the setup phase).</param>
/// <param name="Tools">The tools offered (a workflow's <c>agent_tools:</c>; finish always); null offers them all.</param>
/// <param name="Network">Whether <c>run_command</c> has network (the project's <c>sandbox_network</c>); without it, none.</param>
public sealed record WorkspaceToolOptions(
    TimeSpan CommandTimeout, int MaxOutputChars = 20_000, IReadOnlyList<string>? ProtectedPatterns = null, PackageCaches? Caches = null,
    IReadOnlyCollection<string>? Tools = null, bool Network = false);
