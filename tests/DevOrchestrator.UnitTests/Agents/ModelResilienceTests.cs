using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Headers;
using Anthropic.Exceptions;
using DevOrchestrator.Features.Agents;

namespace DevOrchestrator.UnitTests.Agents;

public sealed class RetryAfterTests
{
    private static readonly DateTimeOffset s_now = new(2031, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static HttpResponseMessage Response(params (string Name, string Value)[] headers)
    {
        var response = new HttpResponseMessage((HttpStatusCode)429);
        foreach (var (name, value) in headers)
        {
            Assert.True(response.Headers.TryAddWithoutValidation(name, value));
        }

        return response;
    }

    [Theory]
    [InlineData("1500", 1500)]
    [InlineData("0", 0)]
    [InlineData("250.5", 250.5)]
    public void Retry_after_ms_is_read_in_milliseconds(string value, double millis)
    {
        using var response = Response(("retry-after-ms", value));

        Assert.Equal(TimeSpan.FromMilliseconds(millis), RetryAfterCapture.Read(response, s_now));
    }

    [Fact]
    public void Retry_after_seconds_is_read()
    {
        using var response = Response(("Retry-After", "7"));

        Assert.Equal(TimeSpan.FromSeconds(7), RetryAfterCapture.Read(response, s_now));
    }

    [Fact]
    public void Retry_after_ms_wins_over_retry_after()
    {
        using var response = Response(("retry-after-ms", "1200"), ("Retry-After", "2"));

        Assert.Equal(TimeSpan.FromMilliseconds(1200), RetryAfterCapture.Read(response, s_now));
    }

    [Fact]
    public void A_retry_after_date_is_the_time_until_then()
    {
        using var response = new HttpResponseMessage((HttpStatusCode)503);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(s_now.AddSeconds(30));

        // Measured from the injected clock's now, not the machine's.
        Assert.Equal(TimeSpan.FromSeconds(30), RetryAfterCapture.Read(response, s_now));
    }

    [Fact]
    public void A_retry_after_date_in_the_past_means_now()
    {
        using var response = Response(("Retry-After", s_now.AddMinutes(-3).ToString("R")));

        Assert.Equal(TimeSpan.Zero, RetryAfterCapture.Read(response, s_now));
    }

    [Fact]
    public void Long_waits_are_capped_at_five_minutes()
    {
        using var seconds = Response(("Retry-After", "3600"));
        using var millis = Response(("retry-after-ms", "600000"));
        using var date = new HttpResponseMessage((HttpStatusCode)429);
        date.Headers.RetryAfter = new RetryConditionHeaderValue(s_now.AddHours(2));
        using var justUnder = Response(("Retry-After", "299"));

        Assert.Equal(TimeSpan.FromMinutes(5), RetryAfterCapture.Longest);
        Assert.Equal(TimeSpan.FromMinutes(5), RetryAfterCapture.Read(seconds, s_now));
        Assert.Equal(TimeSpan.FromMinutes(5), RetryAfterCapture.Read(millis, s_now));
        Assert.Equal(TimeSpan.FromMinutes(5), RetryAfterCapture.Read(date, s_now));
        Assert.Equal(TimeSpan.FromSeconds(299), RetryAfterCapture.Read(justUnder, s_now));
    }

    [Fact]
    public void No_usable_header_is_no_wait()
    {
        using var none = Response();
        using var words = Response(("retry-after-ms", "soon"));
        using var negative = Response(("retry-after-ms", "-5"));
        using var wordsThenSeconds = Response(("retry-after-ms", "soon"), ("Retry-After", "3"));

        Assert.Null(RetryAfterCapture.Read(none, s_now));
        Assert.Null(RetryAfterCapture.Read(words, s_now));
        Assert.Null(RetryAfterCapture.Read(negative, s_now));
        Assert.Equal(TimeSpan.FromSeconds(3), RetryAfterCapture.Read(wordsThenSeconds, s_now));
    }
}

public sealed class TransientErrorTests
{
    private static HttpRequestException Http(int status) => new("failed", null, (HttpStatusCode)status);

    [Theory]
    [InlineData(429, true)]
    [InlineData(529, true)]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(408, true)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(413, false)]
    public void Http_errors_are_retried_by_status(int status, bool transient)
    {
        Assert.Equal(status, ModelResilience.StatusOf(Http(status)));
        Assert.Equal(transient, ModelResilience.IsTransient(Http(status), CancellationToken.None));
    }

    [Fact]
    public void Network_errors_and_timeouts_without_a_status_are_retried()
    {
        Assert.Null(ModelResilience.StatusOf(new HttpRequestException("connection refused")));
        Assert.True(ModelResilience.IsTransient(new HttpRequestException("connection refused"), CancellationToken.None));
        Assert.True(ModelResilience.IsTransient(new TimeoutException(), CancellationToken.None));
        Assert.True(ModelResilience.IsTransient(new IOException("reset by peer"), CancellationToken.None));
        Assert.True(ModelResilience.IsTransient(new TaskCanceledException("the SDK's own timeout"), CancellationToken.None));
        Assert.True(ModelResilience.IsTransient(new InvalidOperationException("wrapped", new HttpRequestException("reset")), CancellationToken.None));
    }

    [Fact]
    public void Other_errors_are_not_retried()
    {
        Assert.Null(ModelResilience.StatusOf(new InvalidOperationException()));
        Assert.False(ModelResilience.IsTransient(new InvalidOperationException("bad request built"), CancellationToken.None));
        Assert.False(ModelResilience.IsTransient(new ArgumentException("bad argument"), CancellationToken.None));
        Assert.False(ModelResilience.IsTransient(new System.Text.Json.JsonException("bad answer"), CancellationToken.None));
    }

    [Fact]
    public void Nothing_is_retried_once_the_caller_cancelled()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.False(ModelResilience.IsTransient(Http(429), cancelled.Token));
        Assert.False(ModelResilience.IsTransient(Http(503), cancelled.Token));
        Assert.False(ModelResilience.IsTransient(new TaskCanceledException(), cancelled.Token));
        Assert.False(ModelResilience.IsTransient(new HttpRequestException("reset"), cancelled.Token));
    }

    public static TheoryData<string, int, bool> AnthropicErrors => new()
    {
        { "rate limited", 429, true },
        { "overloaded", 529, true },
        { "server error", 500, true },
        { "bad request", 400, false },
        { "unauthorized", 401, false },
    };

    [Theory]
    [MemberData(nameof(AnthropicErrors))]
    public void Anthropic_errors_are_retried_by_status(string kind, int status, bool transient)
    {
        var inner = new HttpRequestException("failed");
        AnthropicApiException error = status switch
        {
            429 => new AnthropicRateLimitException(inner) { StatusCode = (HttpStatusCode)status, ResponseBody = "{}" },
            529 => new AnthropicOverloadedException(inner) { StatusCode = (HttpStatusCode)status, ResponseBody = "{}" },
            500 => new Anthropic5xxException(inner) { StatusCode = (HttpStatusCode)status, ResponseBody = "{}" },
            400 => new AnthropicBadRequestException(inner) { StatusCode = (HttpStatusCode)status, ResponseBody = "{}" },
            _ => new AnthropicUnauthorizedException(inner) { StatusCode = (HttpStatusCode)status, ResponseBody = "{}" },
        };

        Assert.Equal(status, ModelResilience.StatusOf(error));
        Assert.Equal(transient, ModelResilience.IsTransient(error, CancellationToken.None));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.False(ModelResilience.IsTransient(error, cancelled.Token), kind);
    }

    [Theory]
    [InlineData(429, true)]
    [InlineData(503, true)]
    [InlineData(400, false)]
    [InlineData(404, false)]
    public void OpenAI_errors_are_retried_by_status(int status, bool transient)
    {
        var error = new ClientResultException("failed", new StatusOnlyResponse(status));

        Assert.Equal(status, ModelResilience.StatusOf(error));
        Assert.Equal(transient, ModelResilience.IsTransient(error, CancellationToken.None));
    }

    [Fact]
    public void An_OpenAI_error_without_a_response_is_a_network_error_only_when_it_wraps_one()
    {
        Assert.Null(ModelResilience.StatusOf(new ClientResultException("failed")));
        Assert.True(ModelResilience.IsTransient(new ClientResultException("failed", null, new HttpRequestException("reset")), CancellationToken.None));
        Assert.False(ModelResilience.IsTransient(new ClientResultException("failed"), CancellationToken.None));
    }

    /// <summary>An OpenAI SDK response with a status and nothing else.</summary>
    private sealed class StatusOnlyResponse(int status) : PipelineResponse
    {
        public override int Status => status;
        public override string ReasonPhrase => "status " + status;
        public override Stream? ContentStream { get; set; }
        public override BinaryData Content => BinaryData.Empty;
        protected override PipelineResponseHeaders HeadersCore => throw new NotSupportedException();
        public override BinaryData BufferContent(CancellationToken cancellationToken = default) => BinaryData.Empty;
        public override ValueTask<BinaryData> BufferContentAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(BinaryData.Empty);
        public override void Dispose()
        {
        }
    }
}
