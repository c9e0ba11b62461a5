using System.Runtime.CompilerServices;

namespace DevOrchestrator.Features.Agents;

/// <summary>
/// Sits under an SDK's <see cref="HttpClient"/> and hands the provider's <c>retry-after-ms</c> / <c>retry-after</c> of a
/// failed response up to <see cref="ResilientChatClient"/> (the SDK exceptions do not carry response headers).
/// </summary>
public sealed class RetryAfterCapture(TimeProvider timeProvider) : DelegatingHandler
{
    internal static readonly AsyncLocal<StrongBox<TimeSpan?>?> Current = new();

    /// <summary>A provider asking for more than this is not waited for in-process (the attempt fails instead).</summary>
    public static readonly TimeSpan Longest = TimeSpan.FromMinutes(5);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode && Current.Value is { } box)
        {
            box.Value = Read(response, timeProvider.GetUtcNow());
        }

        return response;
    }

    internal static TimeSpan? Read(HttpResponseMessage response, DateTimeOffset now)
    {
        if (response.Headers.TryGetValues("retry-after-ms", out var ms) &&
            double.TryParse(ms.FirstOrDefault(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var millis) && millis >= 0)
        {
            return Cap(TimeSpan.FromMilliseconds(millis));
        }

        if (response.Headers.RetryAfter is { } retryAfter)
        {
            if (retryAfter.Delta is { } delta)
            {
                return Cap(delta);
            }

            if (retryAfter.Date is { } date)
            {
                return Cap(date - now);
            }
        }

        return null;
    }

    private static TimeSpan Cap(TimeSpan value) => value < TimeSpan.Zero ? TimeSpan.Zero : value > Longest ? Longest : value;
}
