using DevOrchestrator.Plugins.Jira;
using Hangfire;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Webhooks;

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
