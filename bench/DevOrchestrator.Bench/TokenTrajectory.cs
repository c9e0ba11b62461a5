using System.Globalization;
using System.Text.Json;
using DevOrchestrator.FakeVendors;

namespace DevOrchestrator.Bench;

/// <summary>
/// The fixed 30-call trajectory of the token benchmark, on <see cref="ShopRepository"/>: explore (list, read, search),
/// run the failing tests (a long log), read the generated client (too long for one tool result), write a retry policy,
/// wire it in, run the tests again (two more long logs), add tests, look at the diff, update the changelog, finish.
/// Every call has a fixed id, so two runs send byte-identical conversations whenever their tool results agree.
/// </summary>
internal static class TokenTrajectory
{
    public const string TaskText = """
        Retry payment charges on transient failures

        PaymentClient.ChargeAsync fails the whole order when the payment provider answers 503 or times out once. Retry
        transient failures (429, 5xx, timeouts) with exponential backoff, at most PaymentOptions.MaxRetries times (default
        3), reusing the same idempotency key so that a retried charge is never billed twice. Add tests, keep the existing
        ones green (scripts/test.sh), and note the change in CHANGELOG.md.
        """;

    private const string RetryPolicy = """
        using System.Net;

        namespace Shop.Api.Payments;

        /// <summary>
        /// Retries an operation on transient failures — 408, 429, 5xx, network errors and timeouts — with exponential
        /// backoff and full jitter: attempt n waits a random time up to BaseDelay × 2^(n-1), at most MaxDelay. The caller's
        /// cancellation ends the waiting at once.
        /// </summary>
        public sealed class RetryPolicy(int maxRetries, TimeSpan baseDelay, TimeSpan maxDelay, TimeProvider timeProvider, Random? random = null)
        {
            private readonly Random _random = random ?? Random.Shared;

            public int MaxRetries { get; } = maxRetries;

            public async Task<T> ExecuteAsync<T>(Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        return await operation(cancellationToken);
                    }
                    catch (Exception ex) when (attempt <= MaxRetries && IsTransient(ex, cancellationToken))
                    {
                        await Task.Delay(DelayFor(attempt), timeProvider, cancellationToken);
                    }
                }
            }

            /// <summary>The wait before retry number <paramref name="attempt"/> (1-based).</summary>
            public TimeSpan DelayFor(int attempt)
            {
                var ceiling = Math.Min(maxDelay.TotalMilliseconds, baseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
                return TimeSpan.FromMilliseconds(_random.NextDouble() * ceiling);
            }

            public static bool IsTransient(Exception exception, CancellationToken cancellationToken) => exception switch
            {
                HttpRequestException { StatusCode: null } => true,
                HttpRequestException { StatusCode: HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests } => true,
                HttpRequestException { StatusCode: { } status } => (int)status >= 500,
                TaskCanceledException => !cancellationToken.IsCancellationRequested,
                _ => false,
            };
        }

        """;

    private const string RetryPolicyTests = """
        using System.Net;
        using Microsoft.Extensions.Time.Testing;
        using Shop.Api.Payments;

        namespace Shop.Tests;

        public sealed class RetryPolicyTests
        {
            private static RetryPolicy Policy(int retries, FakeTimeProvider? time = null) =>
                new(retries, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), time ?? new FakeTimeProvider(), new Random(7));

            [Theory]
            [InlineData(HttpStatusCode.ServiceUnavailable)]
            [InlineData(HttpStatusCode.TooManyRequests)]
            [InlineData(HttpStatusCode.RequestTimeout)]
            public async Task A_transient_status_is_retried(HttpStatusCode status)
            {
                var calls = 0;
                var result = await Policy(3).ExecuteAsync(_ => ++calls < 2 ? throw new HttpRequestException("busy", null, status) : Task.FromResult(42), CancellationToken.None);
                Assert.Equal(42, result);
                Assert.Equal(2, calls);
            }

            [Fact]
            public async Task A_client_error_is_not_retried()
            {
                var calls = 0;
                await Assert.ThrowsAsync<HttpRequestException>(() => Policy(3).ExecuteAsync<int>(_ =>
                {
                    calls++;
                    throw new HttpRequestException("bad", null, HttpStatusCode.BadRequest);
                }, CancellationToken.None));
                Assert.Equal(1, calls);
            }

            [Fact]
            public async Task It_gives_up_after_max_retries()
            {
                var calls = 0;
                await Assert.ThrowsAsync<HttpRequestException>(() => Policy(2).ExecuteAsync<int>(_ =>
                {
                    calls++;
                    throw new HttpRequestException("down", null, HttpStatusCode.BadGateway);
                }, CancellationToken.None));
                Assert.Equal(3, calls);
            }

            [Fact]
            public void Delays_grow_exponentially_up_to_the_cap()
            {
                var policy = Policy(10);
                Assert.All(Enumerable.Range(1, 10), n => Assert.InRange(policy.DelayFor(n).TotalMilliseconds, 0, Math.Min(2000, 100 * Math.Pow(2, n - 1))));
            }

            [Fact]
            public async Task Cancellation_by_the_caller_is_not_retried()
            {
                using var cts = new CancellationTokenSource();
                await cts.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Policy(3).ExecuteAsync<int>(ct => Task.FromCanceled<int>(ct), cts.Token));
            }
        }

        """;

    private const string ChargeWithRetry = """
            private readonly HttpClient _http;
            private readonly PaymentOptions _options;
            private readonly ILogger<PaymentClient> _logger;
            private readonly RetryPolicy _retry;

            public PaymentClient(HttpClient http, IOptions<PaymentOptions> options, ILogger<PaymentClient> logger, TimeProvider timeProvider)
            {
                _http = http;
                _options = options.Value;
                _logger = logger;
                _retry = new RetryPolicy(_options.MaxRetries, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), timeProvider);
            }

            /// <summary>
            /// Charges the customer's stored payment method, retrying transient failures (see <see cref="RetryPolicy"/>) with
            /// the same idempotency key, so a retried charge is never billed twice; throws when the provider refuses or fails.
            /// </summary>
            public async Task<ChargeResult> ChargeAsync(ChargeRequest request, CancellationToken cancellationToken)
            {
                return await _retry.ExecuteAsync(async ct =>
                {
                    using var message = new HttpRequestMessage(HttpMethod.Post, "charges") { Content = JsonContent.Create(request) };
                    message.Headers.Add("Idempotency-Key", _options.IdempotencyPrefix + request.Reference);
                    var response = await _http.SendAsync(message, ct);
                    response.EnsureSuccessStatusCode();
                    return (await response.Content.ReadFromJsonAsync<ChargeResult>(ct))!;
                }, cancellationToken);
            }
        """;

    private const string TodoFixed = """
                    _logger.LogWarning(ex, "Payment for order {OrderId} failed after retries", order.Id);
                    return OrderResult.Failed("payment", ex.StatusCode is { } status ? $"the payment provider answered {(int)status}" : ex.Message);
        """;

    /// <summary>The 30 replies, in order; the last calls <c>finish</c>.</summary>
    public static IReadOnlyList<FakeReply> Replies()
    {
        var calls = new List<(string Tool, object Arguments)>
        {
            ("list_files", new { path = ".", recursive = true }),
            ("read_file", new { path = "README.md" }),
            ("read_file", new { path = "docs/architecture.md" }),
            ("search", new { pattern = "PaymentClient", glob = "*.cs" }),
            ("read_file", new { path = ShopRepository.PaymentClientPath }),
            ("read_file", new { path = ShopRepository.OrderServicePath }),
            ("read_file", new { path = "tests/Shop.Tests/PaymentClientTests.cs" }),
            ("run_command", new { command = "sh scripts/test.sh" }),
            ("read_file", new { path = ShopRepository.GeneratedClientPath }),
            ("read_file", new { path = ShopRepository.GeneratedClientPath, start_line = 1200, end_line = 1320 }),
            ("search", new { pattern = "HttpRequestException|TaskCanceledException", path = "src" }),
            ("read_file", new { path = ShopRepository.PaymentOptionsPath }),
            ("read_file", new { path = "docs/payments.md" }),
            ("write_file", new { path = "src/Shop.Api/Payments/RetryPolicy.cs", content = RetryPolicy }),
            ("replace", new { path = ShopRepository.PaymentClientPath, old_text = ShopRepository.AnchorCharge, new_text = ChargeWithRetry }),
            ("replace", new
            {
                path = ShopRepository.PaymentOptionsPath,
                old_text = ShopRepository.AnchorTimeout,
                new_text = ShopRepository.AnchorTimeout + "\n\n    /// <summary>How many times a transient failure of a charge is retried (0: never).</summary>\n    public int MaxRetries { get; set; } = 3;",
            }),
            ("read_file", new { path = ShopRepository.ProgramPath }),
            ("replace", new { path = ShopRepository.ProgramPath, old_text = ShopRepository.AnchorProgram, new_text = ShopRepository.AnchorProgram + "\nbuilder.Services.AddSingleton(TimeProvider.System);" }),
            ("run_command", new { command = "sh scripts/test.sh" }),
            ("read_file", new { path = "tests/Shop.Tests/OrderServiceTests.cs" }),
            ("write_file", new { path = "tests/Shop.Tests/RetryPolicyTests.cs", content = RetryPolicyTests }),
            ("run_command", new { command = "sh scripts/test.sh" }),
            ("search", new { pattern = "TODO", path = "src" }),
            ("read_file", new { path = "src/Shop.Api/Orders/OrderRepository.cs" }),
            ("replace", new { path = ShopRepository.OrderServicePath, old_text = ShopRepository.AnchorTodo, new_text = TodoFixed }),
            ("run_command", new { command = "sh scripts/test.sh" }),
            ("show_diff", new { }),
            ("read_file", new { path = "CHANGELOG.md" }),
            ("replace", new
            {
                path = "CHANGELOG.md",
                old_text = ShopRepository.AnchorChangelog,
                new_text = ShopRepository.AnchorChangelog + "\n- Payments: charges are retried with exponential backoff on transient failures (429, 5xx, timeouts), at most `Payments:MaxRetries` times (default 3), with the same idempotency key.\n",
            }),
            ("finish", new { summary = "Payment charges are now retried on transient failures (429, 5xx, timeouts) with exponential backoff and jitter, at most PaymentOptions.MaxRetries times (default 3), with the same idempotency key; OrderService reports the provider's status when a charge still fails. Added RetryPolicy with tests; scripts/test.sh passes (656 tests); CHANGELOG updated." }),
        };

        return [.. calls.Select((call, i) => (FakeReply)new FakeToolCallsReply([new FakeToolCall(call.Tool, JsonSerializer.Serialize(call.Arguments), string.Create(CultureInfo.InvariantCulture, $"toolu_bench_{i + 1:00}"))]))];
    }

    /// <summary>The tool each call of <see cref="Replies"/> asks for, for the per-call tables.</summary>
    public static IReadOnlyList<string> Describe() => [.. Replies().Select(r => r is FakeToolCallsReply t ? Summary(t.Calls[0]) : "text")];

    private static string Summary(FakeToolCall call)
    {
        using var json = JsonDocument.Parse(call.InputJson);
        var root = json.RootElement;
        var detail = root.TryGetProperty("path", out var path) ? path.GetString()
            : root.TryGetProperty("command", out var command) ? command.GetString()
            : root.TryGetProperty("pattern", out var pattern) ? pattern.GetString()
            : null;
        if (root.TryGetProperty("start_line", out var start) && root.TryGetProperty("end_line", out var end))
        {
            detail += string.Create(CultureInfo.InvariantCulture, $":{start.GetInt32()}-{end.GetInt32()}");
        }

        return detail is null ? call.Name : $"{call.Name} {detail}";
    }
}
