using System.Text.Json;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Workspaces;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;

namespace DevOrchestrator.Features.Agents;

/// <summary>
/// Saves and restores agent conversations turn by turn (<see cref="AgentCheckpoint"/>), together with the worktree's
/// changes (a binary diff against the commit the conversation started from, protected files excluded), so that a task
/// whose worker died resumes at its last finished turn with the same files.
/// </summary>
public sealed class AgentCheckpoints(IDbContextFactory<AppDbContext> dbContexts, GitCli git, TimeProvider timeProvider)
{
    private static readonly JsonSerializerOptions s_json = AIJsonUtilities.DefaultOptions;

    public async Task<AgentSnapshot?> LoadAsync(long workflowExecutionId, string conversation, CancellationToken cancellationToken)
    {
        await using var db = dbContexts.CreateDbContext();
        var row = await db.AgentCheckpoints.AsNoTracking()
            .FirstOrDefaultAsync(c => c.WorkflowExecutionId == workflowExecutionId && c.Conversation == conversation, cancellationToken);
        if (row is null)
        {
            return null;
        }

        var messages = JsonSerializer.Deserialize<List<ChatMessage>>(row.Messages, s_json) ?? [];
        var state = row.State is null ? new AgentLoopState() : JsonSerializer.Deserialize<AgentLoopState>(row.State, s_json) ?? new AgentLoopState();
        return new AgentSnapshot(row.Turn, messages, state, row.BaseCommit);
    }

    /// <summary>The stored diff of a conversation's worktree (null when none was stored).</summary>
    public async Task<string?> LoadDiffAsync(long workflowExecutionId, string conversation, CancellationToken cancellationToken)
    {
        await using var db = dbContexts.CreateDbContext();
        return await db.AgentCheckpoints.AsNoTracking()
            .Where(c => c.WorkflowExecutionId == workflowExecutionId && c.Conversation == conversation)
            .Select(c => c.Diff).FirstOrDefaultAsync(cancellationToken);
    }

    /// <summary>
    /// Stores the conversation's latest turn: the row of (execution, conversation) is created on the first save and
    /// replaced afterwards. Two first saves may race (a worker taking over a task whose previous worker has not yet
    /// noticed it lost the lease): the one that loses the insert updates the row the other created instead of failing
    /// the step with a unique-key violation.
    /// </summary>
    public async Task SaveAsync(
        long taskId, long workflowExecutionId, string conversation, int turn, IReadOnlyList<ChatMessage> messages, AgentLoopState state,
        string? baseCommit, string? diff, CancellationToken cancellationToken)
    {
        var messagesJson = JsonSerializer.Serialize(messages, s_json);
        var stateJson = JsonSerializer.Serialize(state, s_json);
        for (var attempt = 1; ; attempt++)
        {
            await using var db = dbContexts.CreateDbContext();
            var row = await db.AgentCheckpoints.FirstOrDefaultAsync(c => c.WorkflowExecutionId == workflowExecutionId && c.Conversation == conversation, cancellationToken);
            if (row is null)
            {
                row = new AgentCheckpoint { TaskId = taskId, WorkflowExecutionId = workflowExecutionId, Conversation = conversation, Messages = "[]" };
                db.AgentCheckpoints.Add(row);
            }

            row.Turn = turn;
            row.Messages = messagesJson;
            row.State = stateJson;
            row.BaseCommit = baseCommit;
            row.Diff = diff;
            row.UpdatedAt = timeProvider.GetUtcNow();
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                return;
            }
            catch (DbUpdateException ex) when (attempt == 1 && db.Entry(row).State == EntityState.Added && TransientDatabaseErrors.IsUniqueViolation(ex))
            {
                // Another save created the row meanwhile: read it and update it.
            }
        }
    }

    /// <summary>The worktree's changes against <paramref name="baseCommit"/>: tracked and new files, binary-safe, protected files left out.</summary>
    public async Task<string> DiffAsync(string worktree, string baseCommit, CancellationToken cancellationToken)
    {
        await git.RunAsync(worktree, ["add", "-A", "--", .. PathSpecs()], cancellationToken);
        try
        {
            var diff = await git.RunAsync(worktree, ["diff", "--cached", "--binary", "--no-color", "--no-ext-diff", baseCommit, "--", .. PathSpecs()], cancellationToken);
            return diff.Stdout;
        }
        finally
        {
            await git.RunAsync(worktree, ["reset", "-q"], CancellationToken.None, allowFailure: true);
        }
    }

    /// <summary>Puts the worktree back to <paramref name="baseCommit"/> plus <paramref name="diff"/> (ignored files are kept).</summary>
    public async Task RestoreAsync(string worktree, string baseCommit, string? diff, CancellationToken cancellationToken)
    {
        await git.RunAsync(worktree, ["reset", "-q", "--hard", baseCommit], cancellationToken);
        await git.RunAsync(worktree, ["clean", "-fdq"], cancellationToken);
        if (string.IsNullOrEmpty(diff))
        {
            return;
        }

        var patch = Path.Combine(Path.GetTempPath(), $"devorch-restore-{Guid.NewGuid():N}.patch");
        await File.WriteAllTextAsync(patch, diff, cancellationToken);
        try
        {
            await git.RunAsync(worktree, ["apply", "--binary", "--whitespace=nowarn", patch], cancellationToken);
        }
        finally
        {
            File.Delete(patch);
        }
    }

    private static IEnumerable<string> PathSpecs() =>
        [".", .. WorkspaceActions.ProtectedPatterns.Select(p => $":(exclude,glob)**/{p}")];
}
