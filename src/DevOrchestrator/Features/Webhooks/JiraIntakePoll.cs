using DevOrchestrator.Data;
using DevOrchestrator.Plugins.Jira;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Webhooks;

/// <summary>
/// The scheduled JQL poll (a Hangfire recurring job, so one server runs each occurrence): issues matching the intake
/// query (default: the intake label, in the intake status, in the projects mapped by <c>jira_project_key</c>) become
/// tasks, once per issue key — the same path as the Jira webhook.
/// </summary>
public sealed partial class JiraIntakePoll(
    AppDbContext db, JiraPlugin jira, IOptionsMonitor<JiraSettings> options, TaskIntake intake, ILogger<JiraIntakePoll> logger)
{
    public const string JobId = "jira-intake-poll";
    public const int PageSize = 50;
    public const int MaxIssuesPerRun = 500;

    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (!jira.IsConfigured)
        {
            return 0;
        }

        var keys = await db.Projects.AsNoTracking().Where(p => p.JiraProjectKey != null && p.JiraProjectKey != "").Select(p => p.JiraProjectKey!).Distinct().ToListAsync(cancellationToken);
        if (keys.Count == 0 && string.IsNullOrEmpty(options.CurrentValue.PollJql))
        {
            return 0;
        }

        var jql = jira.BuildIntakeJql(keys);
        var created = 0;
        var seen = 0;
        string? page = null;
        do
        {
            var result = await jira.SearchAsync(jql, page, PageSize, cancellationToken);
            foreach (var issue in result.Issues)
            {
                seen++;
                var outcome = await intake.AcceptAsync(JiraWebhooks.ToIntake(issue), null, "jql_poll", null, cancellationToken);
                if (outcome.Outcome == IntakeOutcome.TaskCreated)
                {
                    created++;
                }
                else if (outcome.Outcome == IntakeOutcome.UnknownProject)
                {
                    LogUnmapped(logger, issue.Key, outcome.Message);
                }
            }

            page = result.NextPageToken;
        }
        while (page is not null && seen < MaxIssuesPerRun);

        LogPolled(logger, seen, created);
        return created;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Jira intake poll: {Seen} matching issue(s), {Created} new task(s)")]
    private static partial void LogPolled(ILogger logger, int seen, int created);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Jira issue {IssueKey} matched the intake query but {Reason}")]
    private static partial void LogUnmapped(ILogger logger, string issueKey, string reason);
}
