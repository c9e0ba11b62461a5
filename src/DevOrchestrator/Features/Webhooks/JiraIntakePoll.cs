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

/// <summary>
/// Schedules (or removes) the poll at start, from <c>JIRA_POLL_INTERVAL_SECONDS</c>. In the background and retried:
/// a lock held by a worker that was killed (Hangfire's distributed lock on PostgreSQL) delays the schedule, it never
/// stops the process from starting.
/// </summary>
public sealed partial class JiraIntakeSchedule(IRecurringJobManager jobs, IOptionsMonitor<JiraSettings> options, TimeProvider timeProvider, ILogger<JiraIntakeSchedule> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Hangfire's API is synchronous: keep it off the threads that serve requests.
                await Task.Factory.StartNew(Schedule, stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogScheduleFailed(logger, ex, delay.TotalSeconds);
                await Task.Delay(delay, timeProvider, stoppingToken).ContinueWith(static _ => { }, TaskScheduler.Default);
                delay = TimeSpan.FromSeconds(Math.Min(60, delay.TotalSeconds * 2));
            }
        }
    }

    private void Schedule()
    {
        if (options.CurrentValue.PollInterval is not { } interval)
        {
            jobs.RemoveIfExists(JiraIntakePoll.JobId);
        }
        else
        {
            jobs.AddOrUpdate<JiraIntakePoll>(JiraIntakePoll.JobId, Tasks.TaskDispatch.BackgroundQueue, poll => poll.RunAsync(CancellationToken.None), Cron((int)interval.TotalSeconds));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scheduling the Jira intake poll failed; retrying in {DelaySeconds} s")]
    private static partial void LogScheduleFailed(ILogger logger, Exception exception, double delaySeconds);

    /// <summary>Hangfire's schedules are cron (minute resolution): the interval rounds to whole minutes, at least one.</summary>
    internal static string Cron(int seconds)
    {
        var minutes = Math.Max(1, (int)Math.Round(seconds / 60.0));
        return minutes switch
        {
            1 => "* * * * *",
            < 60 => $"*/{minutes} * * * *",
            _ => $"0 */{Math.Min(23, minutes / 60)} * * *",
        };
    }
}
