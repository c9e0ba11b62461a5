using DevOrchestrator.Abstractions.Plugins;
using DevOrchestrator.Hosting;
using DevOrchestrator.Plugins.GitHub;
using DevOrchestrator.Plugins.Jira;
using DevOrchestrator.Plugins.Slack;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace DevOrchestrator.Features.Webhooks;

/// <summary>
/// Intake endpoints: <c>POST /webhooks/github</c> (X-Hub-Signature-256), <c>POST /webhooks/jira</c> (X-Hub-Signature,
/// HMAC-SHA256 with the shared secret), <c>POST /webhooks/slack/commands</c> (Slack's v0 signature, five-minute replay
/// window). They need no bearer token: the signature is the authentication. A bad or missing signature is 401, a
/// payload that is not what the vendor documents 400, an item that maps to no project 404, a replayed delivery 409 —
/// none leaves a task behind.
/// </summary>
public static partial class WebhooksApi
{
    public sealed record WebhookResponse(string Outcome, string Message, long? TaskId);

    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/webhooks").WithTags("Webhooks").AllowAnonymous();
        group.MapPost("/github", GitHubAsync).WithSummary("GitHub webhook: an issue labelled devorch or a '/devorch …' comment makes a task; on a task's pull request it re-runs the agent with the feedback.")
            .ProducesData<WebhookResponse>().ProducesData<WebhookResponse>(StatusCodes.Status202Accepted)
            .ProducesErrors(StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        group.MapPost("/jira", JiraAsync).WithSummary("Jira webhook (issue created/updated with the intake label) makes a task, once per issue key.")
            .ProducesData<WebhookResponse>().ProducesData<WebhookResponse>(StatusCodes.Status202Accepted)
            .ProducesErrors(StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        // 200 answers Slack's message shape ({response_type, text}) or, for an ignored command, the envelope.
        group.MapPost("/slack/commands", SlackAsync).WithSummary("The /devorch slash command: acknowledged at once, the result posted through response_url.")
            .Produces(StatusCodes.Status200OK).ProducesData<WebhookResponse>(StatusCodes.Status202Accepted)
            .ProducesErrors(StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<IResult> GitHubAsync(HttpContext context, IOptionsMonitor<GitHubSettings> options, TaskIntake intake, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        if (string.IsNullOrEmpty(settings.WebhookSecret))
        {
            return Api.Error(context, StatusCodes.Status503ServiceUnavailable, ErrorCodes.Unavailable, "GitHub webhooks are refused: GITHUB_WEBHOOK_SECRET is not set.");
        }

        if (await ReadBodyAsync(context, cancellationToken) is not { } body)
        {
            return TooLarge(context);
        }

        if (!GitHubWebhooks.VerifySignature(settings.WebhookSecret, body, context.Request.Headers["X-Hub-Signature-256"].FirstOrDefault()))
        {
            return BadSignature(context, loggers, "github");
        }

        var eventName = context.Request.Headers["X-GitHub-Event"].FirstOrDefault();
        if (string.IsNullOrEmpty(eventName))
        {
            return Api.Error(context, 400, ErrorCodes.ValidationError, "The X-GitHub-Event header is missing.", new Dictionary<string, string[]> { ["X-GitHub-Event"] = ["is required"] });
        }

        if (Unreadable(context, body) is { } unreadable)
        {
            return unreadable;
        }

        IntakeItem item;
        try
        {
            item = GitHubWebhooks.Parse(eventName, body, settings.EffectiveIntakeLabel, settings.EffectiveCommand);
        }
        catch (MalformedPayloadException ex)
        {
            return Malformed(context, ex);
        }

        return Answer(context, await intake.AcceptAsync(item, context.Request.Headers["X-GitHub-Delivery"].FirstOrDefault(), eventName, null, cancellationToken));
    }

    private static async Task<IResult> JiraAsync(HttpContext context, IOptionsMonitor<JiraSettings> options, TaskIntake intake, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        if (string.IsNullOrEmpty(settings.WebhookSecret))
        {
            return Api.Error(context, StatusCodes.Status503ServiceUnavailable, ErrorCodes.Unavailable, "Jira webhooks are refused: JIRA_WEBHOOK_SECRET is not set.");
        }

        if (await ReadBodyAsync(context, cancellationToken) is not { } body)
        {
            return TooLarge(context);
        }

        if (!JiraWebhooks.VerifySignature(settings.WebhookSecret, body, context.Request.Headers["X-Hub-Signature"].FirstOrDefault()))
        {
            return BadSignature(context, loggers, "jira");
        }

        if (Unreadable(context, body) is { } unreadable)
        {
            return unreadable;
        }

        IntakeItem item;
        try
        {
            item = JiraWebhooks.Parse(body, settings.Url ?? "", settings.EffectiveIntakeLabel);
        }
        catch (MalformedPayloadException ex)
        {
            return Malformed(context, ex);
        }

        return Answer(context, await intake.AcceptAsync(item, context.Request.Headers["X-Atlassian-Webhook-Identifier"].FirstOrDefault(), "jira", null, cancellationToken));
    }

    private static async Task<IResult> SlackAsync(HttpContext context, IOptionsMonitor<SlackSettings> options, TaskIntake intake, TimeProvider timeProvider, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        if (string.IsNullOrEmpty(settings.SigningSecret))
        {
            return Api.Error(context, StatusCodes.Status503ServiceUnavailable, ErrorCodes.Unavailable, "Slack commands are refused: SLACK_SIGNING_SECRET is not set.");
        }

        if (await ReadBodyAsync(context, cancellationToken) is not { } body)
        {
            return TooLarge(context);
        }

        var check = SlackRequestSignature.Verify(settings.SigningSecret, context.Request.Headers[SlackRequestSignature.TimestampHeader].FirstOrDefault(), body,
            context.Request.Headers[SlackRequestSignature.SignatureHeader].FirstOrDefault(), timeProvider.GetUtcNow(), SlackRequestSignature.DefaultWindow);
        if (check != SlackSignatureCheck.Valid)
        {
            return BadSignature(context, loggers, "slack", check == SlackSignatureCheck.Stale ? "The request timestamp is outside the five-minute window (replayed or clock skew)." : null);
        }

        var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(System.Text.Encoding.UTF8.GetString(body))
            .ToDictionary(kv => kv.Key, kv => kv.Value.ToString(), StringComparer.Ordinal);
        IntakeItem item;
        try
        {
            item = SlackSlashCommand.Parse(form, settings.EffectiveCommand);
        }
        catch (MalformedPayloadException ex)
        {
            return Malformed(context, ex);
        }

        if (item.Kind == IntakeKind.Ignored)
        {
            return SlackReply(item.IgnoredReason ?? $"Usage: {settings.EffectiveCommand} <what to do>", ephemeral: true);
        }

        form.TryGetValue("response_url", out var responseUrl);
        var result = await intake.AcceptAsync(item, item.ExternalId, "slash_command", string.IsNullOrEmpty(responseUrl) ? null : responseUrl, cancellationToken);
        return result.Outcome switch
        {
            IntakeOutcome.TaskCreated => SlackReply($"Task #{result.TaskId} queued: {item.Title}. Progress goes to the project's thread; the result comes here.", ephemeral: false),
            IntakeOutcome.TaskExists => SlackReply($"Already received (task #{result.TaskId}).", ephemeral: true),
            _ => Answer(context, result),
        };
    }

    private static JsonHttpResult<Dictionary<string, string>> SlackReply(string text, bool ephemeral) =>
        TypedResults.Json(new Dictionary<string, string> { ["response_type"] = ephemeral ? "ephemeral" : "in_channel", ["text"] = text });

    private static IResult Answer(HttpContext context, IntakeResult result) => result.Outcome switch
    {
        IntakeOutcome.TaskCreated or IntakeOutcome.FeedbackQueued => Api.Ok(context, new WebhookResponse(Name(result.Outcome), result.Message, result.TaskId), result.Message, statusCode: StatusCodes.Status202Accepted),
        IntakeOutcome.UnknownProject or IntakeOutcome.UnknownPullRequest => Api.Error(context, StatusCodes.Status404NotFound, ErrorCodes.NotFound, result.Message),
        IntakeOutcome.TaskBusy => Api.Error(context, StatusCodes.Status409Conflict, ErrorCodes.Conflict, result.Message),

        // A replayed delivery (GitHub's "Redeliver", a resent Jira event, an attacker replaying a signed body): refused
        // as a conflict so that the sender sees it was not acted on again.
        IntakeOutcome.Duplicate => Api.Error(context, StatusCodes.Status409Conflict, ErrorCodes.Conflict, result.Message),
        _ => Api.Ok(context, new WebhookResponse(Name(result.Outcome), result.Message, result.TaskId), result.Message),
    };

    private static string Name(IntakeOutcome outcome) => outcome switch
    {
        IntakeOutcome.TaskCreated => "task_created",
        IntakeOutcome.TaskExists => "task_exists",
        IntakeOutcome.FeedbackQueued => "feedback_queued",
        _ => "ignored",
    };

    private static JsonHttpResult<ApiErrorResponse> Malformed(HttpContext context, MalformedPayloadException ex) =>
        Api.Error(context, StatusCodes.Status400BadRequest, ErrorCodes.ValidationError, "The payload is not a valid event: " + ex.Message,
            new Dictionary<string, string[]> { ["body"] = [ex.Message] });

    /// <summary>
    /// 400 for a body that is not JSON text the parsers can read as strings: invalid UTF-8, a lone surrogate escape,
    /// nesting deeper than 64 levels. NUL is kept (replaced when stored, see <see cref="TaskIntake"/>).
    /// </summary>
    private static JsonHttpResult<ApiErrorResponse>? Unreadable(HttpContext context, byte[] body) =>
        RequestInputCheck.Inspect(body, new Validation()) is { } broken
            ? Api.Error(context, StatusCodes.Status400BadRequest, ErrorCodes.ValidationError, $"The payload is not a valid event: {broken.Field} {broken.Problem}.",
                new Dictionary<string, string[]> { [broken.Field] = [broken.Problem] })
            : null;

    /// <summary>The payload above <c>WEBHOOK_MAX_BODY_BYTES</c> (GitHub's documented cap, 25 MB, by default).</summary>
    private static JsonHttpResult<ApiErrorResponse> TooLarge(HttpContext context) => RequestBodyLimits.TooLarge(context);

    private static JsonHttpResult<ApiErrorResponse> BadSignature(HttpContext context, ILoggerFactory loggers, string source, string? detail = null)
    {
        LogBadSignature(loggers.CreateLogger(typeof(WebhooksApi)), source, context.Connection.RemoteIpAddress?.ToString());
        return Api.Error(context, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, detail ?? "The signature is missing or does not match the configured secret.");
    }

    /// <summary>The raw body (signatures are computed over the exact bytes), or null when it is above <c>WEBHOOK_MAX_BODY_BYTES</c>.</summary>
    private static Task<byte[]?> ReadBodyAsync(HttpContext context, CancellationToken cancellationToken) => RequestBodyLimits.ReadAsync(context, cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a {Source} webhook with a bad signature from {RemoteAddress}")]
    private static partial void LogBadSignature(ILogger logger, string source, string? remoteAddress);
}
