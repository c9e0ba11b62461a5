using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DevOrchestrator.Hosting;
using Npgsql;

namespace DevOrchestrator.Bench;

/// <summary>
/// <c>devorch-bench events</c>: latency from the commit of an event by another process (this one, on its own PostgreSQL
/// connection, as a worker commits them) to its arrival on an SSE client of a running API replica
/// (<c>GET /api/v1/tasks/{id}/events</c>). Blocks of events alternate between the two wake-ups of the replica's hub: the
/// events table's NOTIFY trigger enabled (LISTEN wakes the hub) and disabled (only the hub's 250 ms poll finds them), so
/// both distributions come from one run on the same machine state. Events are paced with random gaps (no phase lock
/// with the poll), one at a time, each waited for before the next.
/// </summary>
internal static class EventsLatencyCommand
{
    private const string Trigger = "events_notify";

    public static Command Create()
    {
        var server = new Option<string>("--server") { Description = "Base URL of the API replica that serves the SSE stream (loopback)", Required = true };
        var token = new Option<string?>("--token") { Description = "Bearer token of a viewer or above; default: DEVORCH_TOKEN" };
        var databaseUrl = new Option<string>("--database-url") { Description = "The replica's DATABASE_URL (postgresql://; its user must own the events table, to switch the trigger)", Required = true };
        var taskId = new Option<long>("--task-id") { Description = "An unfinished task whose stream is read (the events are written for it)", Required = true };
        var count = new Option<int>("--count") { Description = "Events per mode (1..5000)", DefaultValueFactory = _ => 200 };
        var block = new Option<int>("--block") { Description = "Events per block before the mode switches (1..1000)", DefaultValueFactory = _ => 25 };
        var label = new Option<string?>("--label") { Description = "Name of this run in the report" };
        var json = new Option<FileInfo?>("--json") { Description = "Append the result as one JSON line to this file" };
        var markdown = new Option<FileInfo?>("--markdown") { Description = "Append the result as a markdown table to this file" };
        var command = new Command("events", "Latency from another process's commit of an event to an SSE client of an API replica, with NOTIFY and with polling only (alternating blocks, one run).")
        {
            server, token, databaseUrl, taskId, count, block, label, json, markdown,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var n = parseResult.GetValue(count);
            var b = parseResult.GetValue(block);
            if (n is < 1 or > 5000 || b is < 1 or > 1000 || !Uri.TryCreate(parseResult.GetValue(server), UriKind.Absolute, out var baseUri) || !baseUri.IsLoopback)
            {
                await Console.Error.WriteLineAsync("--count must be 1..5000, --block 1..1000, --server a loopback http URL.");
                return 2;
            }

            var bearer = parseResult.GetValue(token) ?? Environment.GetEnvironmentVariable("DEVORCH_TOKEN") ?? "";
            var result = await RunAsync(baseUri, bearer, parseResult.GetValue(databaseUrl)!, parseResult.GetValue(taskId), n, b, cancellationToken);
            var name = parseResult.GetValue(label) ?? "events";
            var line = JsonSerializer.Serialize(new
            {
                label = name,
                count_per_mode = n,
                block = b,
                notify = result.Notify,
                polling = result.Polling,
                lost = result.Lost,
                p50_ratio = result.Polling.P50 / result.Notify.P50,
                p99_ratio = result.Polling.P99 / result.Notify.P99,
            });
            Console.WriteLine(line);
            if (parseResult.GetValue(json) is { } jsonFile)
            {
                await File.AppendAllTextAsync(jsonFile.FullName, line + "\n", cancellationToken);
            }

            if (parseResult.GetValue(markdown) is { } markdownFile)
            {
                var table = new StringBuilder();
                table.AppendLine(CultureInfo.InvariantCulture, $"### {name}: commit in another process → SSE client, {n} events per mode, blocks of {b}");
                table.AppendLine();
                table.AppendLine("| hub woken by | events | mean ms | p50 ms | p90 ms | p99 ms | max ms |");
                table.AppendLine("|---|---|---|---|---|---|---|");
                foreach (var (mode, d) in new[] { ("NOTIFY (LISTEN)", result.Notify), ("poll only (250 ms)", result.Polling) })
                {
                    table.AppendLine(CultureInfo.InvariantCulture, $"| {mode} | {d.Count} | {d.Mean:0.0} | {d.P50:0.0} | {d.P90:0.0} | {d.P99:0.0} | {d.Max:0.0} |");
                }

                table.AppendLine(CultureInfo.InvariantCulture, $"| ratio poll / NOTIFY | | | {result.Polling.P50 / result.Notify.P50:0.0}× | | {result.Polling.P99 / result.Notify.P99:0.0}× | |");
                table.AppendLine();
                table.AppendLine(CultureInfo.InvariantCulture, $"Events not received within 10 s: {result.Lost}.");
                table.AppendLine();
                await File.AppendAllTextAsync(markdownFile.FullName, table.ToString(), cancellationToken);
            }

            return result.Lost == 0 ? 0 : 1;
        });
        return command;
    }

    private sealed record Result(Distribution Notify, Distribution Polling, int Lost);

    private static async Task<Result> RunAsync(Uri baseUri, string bearer, string databaseUrl, long taskId, int count, int block, CancellationToken cancellationToken)
    {
        var arrivals = new ConcurrentDictionary<long, long>();
        var arrived = new SemaphoreSlim(0);
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(async () =>
        {
            using var response = await http.GetAsync($"/api/v1/tasks/{taskId}/events", HttpCompletionOption.ResponseHeadersRead, stop.Token);
            response.EnsureSuccessStatusCode();
            using var stream = new StreamReader(await response.Content.ReadAsStreamAsync(stop.Token));
            connected.TrySetResult();
            while (await stream.ReadLineAsync(stop.Token) is { } line)
            {
                if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    arrivals.TryAdd(long.Parse(line[4..], CultureInfo.InvariantCulture), Stopwatch.GetTimestamp());
                    arrived.Release();
                }
            }
        }, CancellationToken.None);
        await connected.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);

        await using var connection = new NpgsqlConnection(DatabaseUrls.ToNpgsqlConnectionString(databaseUrl));
        await connection.OpenAsync(cancellationToken);
        var notify = new List<double>();
        var polling = new List<double>();
        var lost = 0;
        var random = new Random(14);
        try
        {
            for (var i = 0; i < 2 * count; i++)
            {
                var withNotify = i / block % 2 == 0;
                if (i % block == 0)
                {
                    await using var toggle = new NpgsqlCommand($"ALTER TABLE events {(withNotify ? "ENABLE" : "DISABLE")} TRIGGER {Trigger}", connection);
                    await toggle.ExecuteNonQueryAsync(cancellationToken);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(20, 120)), cancellationToken);
                while (arrived.CurrentCount > 0)
                {
                    await arrived.WaitAsync(cancellationToken); // drain stray arrivals
                }

                await using var insert = new NpgsqlCommand("INSERT INTO events (task_id, type, payload, created_at) VALUES (@task, 'system.alert', '{\"message\":\"bench\"}', now()) RETURNING id", connection);
                insert.Parameters.AddWithValue("task", taskId);
                var committing = Stopwatch.GetTimestamp();
                var id = (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
                var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
                while (!arrivals.ContainsKey(id) && Stopwatch.GetTimestamp() < deadline)
                {
                    await arrived.WaitAsync(TimeSpan.FromMilliseconds(500), cancellationToken);
                }

                if (arrivals.TryGetValue(id, out var at))
                {
                    (withNotify ? notify : polling).Add(Stopwatch.GetElapsedTime(committing, at).TotalMilliseconds);
                }
                else
                {
                    lost++;
                }
            }
        }
        finally
        {
            await using var restore = new NpgsqlCommand($"ALTER TABLE events ENABLE TRIGGER {Trigger}", connection);
            await restore.ExecuteNonQueryAsync(CancellationToken.None);
            await stop.CancelAsync();
            await reader.ContinueWith(static _ => { }, TaskScheduler.Default);
        }

        return new Result(Distribution.Of(notify), Distribution.Of(polling), lost);
    }
}
