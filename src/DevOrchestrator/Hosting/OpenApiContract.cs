using System.Text.Json.Nodes;
using DevOrchestrator.Data;
using DevOrchestrator.Features.Agents;
using DevOrchestrator.Features.Audit;
using DevOrchestrator.Features.Auth;
using DevOrchestrator.Features.Costs;
using DevOrchestrator.Features.Health;
using DevOrchestrator.Features.Projects;
using DevOrchestrator.Features.Tasks;
using DevOrchestrator.Features.Workflows;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace DevOrchestrator.Hosting;

/// <summary>
/// The OpenAPI 3.1 document of the API (<c>/openapi/v1.json</c> and <c>/openapi.json</c>): the bearer scheme on every
/// authenticated operation, the error envelope for every status a route can answer, enums for every status, kind,
/// source and role, typed query parameters with their limits, and the request fields the API really requires.
/// Decision record 0015.
/// </summary>
public static class OpenApiContract
{
    public const string DocumentName = "v1";
    public const string BearerScheme = "bearer";

    /// <summary>The statuses every route can answer with the error envelope, whatever its handler does (see <see cref="ApiExceptionHandler"/> and <see cref="RequestInputCheck"/>).</summary>
    private static readonly int[] s_everyRouteErrors = [StatusCodes.Status400BadRequest, StatusCodes.Status422UnprocessableEntity, StatusCodes.Status500InternalServerError, StatusCodes.Status503ServiceUnavailable];

    public static IServiceCollection AddDevOrchestratorOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(DocumentName, o =>
        {
            o.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "DevOrchestrator API";
                document.Info.Version = "v1";
                // No servers: the document is the same whatever address it is fetched from (a client sets its base URL).
                document.Servers = [];
                document.Info.Description = "Self-hosted AI development automation. Every /api/v1 route except login and health needs a bearer token " +
                    "(POST /api/v1/auth/login, or `devorch token create`). Successes answer {success, data, message, timestamp, request_id}; " +
                    "errors answer {success: false, error: {code, message, details}, timestamp, request_id}.";
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    BearerFormat = "JWT or API key",
                    Description = "A JWT from POST /api/v1/auth/login or `devorch token create`, or an API key (dvo_…) from POST /api/v1/auth/api-keys.",
                };
                AllowAnyJson(document);
                return Task.CompletedTask;
            });
            o.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                if (RequiresToken(metadata))
                {
                    operation.Security ??= [];
                    operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] });
                }

                DescribeQueryParameters(operation, metadata, context.Description.RelativePath ?? string.Empty);
                DescribeRateLimitHeaders(operation, context.Document!, context.Description.RelativePath ?? string.Empty);
                return Task.CompletedTask;
            });
            o.AddSchemaTransformer((schema, context, _) =>
            {
                DescribeSchema(schema, context);
                return Task.CompletedTask;
            });
        });

    /// <summary>Serves the document at <c>/openapi/v1.json</c> and <c>/openapi.json</c>, the Scalar reference at <c>/docs</c> and a ReDoc-style page at <c>/redoc</c>.</summary>
    public static void MapApiReference(this WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous().ExcludeFromDescription();
        app.MapOpenApi("/openapi.json").AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/redoc", ApiReferencePage.Write).AllowAnonymous().ExcludeFromDescription();
    }

    /// <summary>
    /// Endpoint convention for every API route: the error envelope for the statuses any route can answer (400, 422,
    /// 500, 503; 413 and 415 with a body; 401 and 403 behind a token), next to the statuses each route declares itself.
    /// </summary>
    public static TBuilder WithErrorEnvelope<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.Finally(endpoint =>
        {
            var metadata = endpoint.Metadata;
            var declared = metadata.OfType<IProducesResponseTypeMetadata>().Select(m => m.StatusCode).ToHashSet();
            void Declare(int status)
            {
                if (declared.Add(status))
                {
                    metadata.Add(new ProducesResponseTypeAttribute(typeof(ApiErrorResponse), status, "application/json"));
                }
            }

            foreach (var status in s_everyRouteErrors)
            {
                Declare(status);
            }

            var methods = metadata.OfType<IHttpMethodMetadata>().SelectMany(m => m.HttpMethods).ToList();
            if (methods.Any(m => m is "POST" or "PUT" or "PATCH"))
            {
                Declare(StatusCodes.Status413PayloadTooLarge);
                Declare(StatusCodes.Status415UnsupportedMediaType);
            }

            if (RequiresToken(metadata))
            {
                Declare(StatusCodes.Status401Unauthorized);
                Declare(StatusCodes.Status403Forbidden);
            }

            if (endpoint is RouteEndpointBuilder { RoutePattern.RawText: { } route } && ApiRateLimiter.IsLimited("/" + route.TrimStart('/')))
            {
                Declare(StatusCodes.Status429TooManyRequests);
            }
        });
        return builder;
    }

    /// <summary>Declares the success envelope of <typeparamref name="T"/> for <paramref name="status"/>.</summary>
    public static RouteHandlerBuilder ProducesData<T>(this RouteHandlerBuilder builder, int status = StatusCodes.Status200OK) =>
        builder.Produces<ApiResponse<T>>(status, "application/json");

    /// <summary>Declares the error envelope for each of <paramref name="statuses"/> (beyond those every route answers).</summary>
    public static RouteHandlerBuilder ProducesErrors(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses)
        {
            builder.Produces<ApiErrorResponse>(status, "application/json");
        }

        return builder;
    }

    /// <summary>
    /// A <c>JsonElement?</c> field (variables, result, inputs, outputs) is any JSON value, null included: the generator's
    /// <c>oneOf: [null, JsonElement]</c> would match null twice, which <c>oneOf</c> refuses.
    /// </summary>
    private static void AllowAnyJson(OpenApiDocument document)
    {
        foreach (var schema in document.Components?.Schemas?.Values.OfType<OpenApiSchema>() ?? [])
        {
            foreach (var (name, property) in schema.Properties?.ToList() ?? [])
            {
                if (property.OneOf?.Any(s => s is OpenApiSchemaReference { Reference.Id: "JsonElement" }) == true)
                {
                    schema.Properties![name] = new OpenApiSchema { Description = property.Description ?? "Any JSON value, or null." };
                }
            }
        }
    }

    /// <summary>
    /// The rate limit headers on every response of a limited route (<see cref="ApiRateLimiter"/>), and <c>Retry-After</c>
    /// on its 429: each described once under <c>components/headers</c> and referenced.
    /// </summary>
    private static void DescribeRateLimitHeaders(OpenApiOperation operation, OpenApiDocument document, string path)
    {
        if (!ApiRateLimiter.IsLimited("/" + path.TrimStart('/')) || operation.Responses is null)
        {
            return;
        }

        document.Components ??= new OpenApiComponents();
        var components = document.Components.Headers ??= new Dictionary<string, IOpenApiHeader>();
        static OpenApiHeader Header(string description) => new() { Description = description, Schema = new OpenApiSchema { Type = JsonSchemaType.Integer } };
        components.TryAdd(ApiRateLimiter.LimitHeader, Header("Requests allowed per hour to this user (with a token) or this client IP (without one). Absent when API_RATE_LIMIT_ENABLED=false."));
        components.TryAdd(ApiRateLimiter.RemainingHeader, Header("Requests left in the current window."));
        components.TryAdd(ApiRateLimiter.ResetHeader, Header("When the current window ends and the count starts again: Unix time in seconds (UTC)."));
        components.TryAdd("Retry-After", Header("Seconds to wait before retrying."));
        foreach (var (status, response) in operation.Responses)
        {
            if (response is not OpenApiResponse concrete)
            {
                continue;
            }

            concrete.Headers ??= new Dictionary<string, IOpenApiHeader>();
            foreach (var name in status == "429"
                ? new[] { ApiRateLimiter.LimitHeader, ApiRateLimiter.RemainingHeader, ApiRateLimiter.ResetHeader, "Retry-After" }
                : [ApiRateLimiter.LimitHeader, ApiRateLimiter.RemainingHeader, ApiRateLimiter.ResetHeader])
            {
                concrete.Headers[name] = new OpenApiHeaderReference(name, document);
            }
        }
    }

    private static bool RequiresToken(IEnumerable<object> metadata)
    {
        var list = metadata as IList<object> ?? metadata.ToList();
        return !list.Any(m => m is IAllowAnonymous) && list.Any(m => m is IAuthorizeData);
    }

    // Query parameters bind as text (so one answer names every bad value); the document says what they really take.
    private static void DescribeQueryParameters(OpenApiOperation operation, IList<object> metadata, string path)
    {
        if (operation.Parameters is null)
        {
            return;
        }

        foreach (var parameter in operation.Parameters.OfType<OpenApiParameter>().Where(p => p.In == ParameterLocation.Query))
        {
            var (schema, description) = parameter.Name switch
            {
                "page" => (Integer(1, int.MaxValue, 1), "Page number, from 1."),
                "per_page" => (Integer(1, PageRequest.MaxPerPage, 20), $"Items per page, 1 to {PageRequest.MaxPerPage}."),
                "order" => (Enum(["asc", "desc"], "desc"), "Sort order."),
                "sort" when metadata.OfType<SortableFields>().FirstOrDefault() is { } sortable => (Enum(sortable.Fields, sortable.Fields[0]), "Field to sort by."),
                "project_id" => (Integer(1, long.MaxValue), "Only this project's items."),
                "parent_id" => (Integer(1, long.MaxValue), "Only the tasks of this epic."),
                "task_id" => (Integer(1, long.MaxValue), "Only this task's items."),
                "last_event_id" => (Integer(0, long.MaxValue), "Resume after this event id (the Last-Event-ID header wins)."),
                "source" => (Enum(TaskSources.All), "Only tasks from this source."),
                "kind" => (Enum(TaskKinds.All), "Only tasks of this kind."),
                "group_by" => (Enum(CostsApi.GroupBys, CostsApi.DefaultGroupBy), "How the breakdown is grouped."),
                "action" => (Enum(AuditActions.All), "Only entries of this action."),
                "actor" => (new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 320 }, "Only entries by this actor: a user id, an email, or cli."),
                "target_type" => (new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 50 }, "Only entries about this kind of target (user, api_key, plugin, project, task)."),
                "target_id" => (new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 200 }, "Only entries about this target id."),
                "since" => (new OpenApiSchema { Type = JsonSchemaType.String, Examples = [JsonValue.Create("2026-12-01T00:00:00Z")] }, "Only entries at or after this ISO 8601 date or date-time."),
                "until" => (new OpenApiSchema { Type = JsonSchemaType.String, Examples = [JsonValue.Create("2026-12-31")] }, "Only entries before this ISO 8601 date or date-time."),
                "user_id" => (Integer(1, long.MaxValue), "Another user's keys (admins only); default: the caller's."),
                "from" => (new OpenApiSchema { Type = JsonSchemaType.String, Examples = [JsonValue.Create("2025-03-01")] }, "Start of the window (inclusive): a date (yyyy-MM-dd, UTC midnight) or an ISO 8601 date-time; default: the start of the current UTC month."),
                "to" => (new OpenApiSchema { Type = JsonSchemaType.String, Examples = [JsonValue.Create("2025-03-31")] }, "End of the window: a date (the whole day is included) or an ISO 8601 date-time (exclusive); default: now."),
                _ => ((OpenApiSchema?)null, (string?)null),
            };
            if (parameter.Name == "status" && path.StartsWith("api/v1/agents", StringComparison.Ordinal))
            {
                (schema, description) = (Enum(AgentStatusValues), "Only agents with this status.");
            }
            else if (parameter.Name == "status")
            {
                // status=queued,running: a comma-separated list (style form, explode false).
                (schema, description) = (new OpenApiSchema { Type = JsonSchemaType.Array, Items = Enum(TaskStatuses.All) }, "Only tasks with one of these statuses (comma-separated).");
                parameter.Style = ParameterStyle.Form;
                parameter.Explode = false;
            }

            if (schema is not null)
            {
                parameter.Schema = schema;
                parameter.Description ??= description;
            }
        }
    }

    private static OpenApiSchema Integer(long minimum, long maximum, long? @default = null) => new()
    {
        Type = JsonSchemaType.Integer,
        Format = maximum > int.MaxValue ? "int64" : "int32",
        Minimum = minimum.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Maximum = maximum.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Default = @default is { } d ? JsonValue.Create(d) : null,
    };

    private static OpenApiSchema Enum(IEnumerable<string> values, string? @default = null) => new()
    {
        Type = JsonSchemaType.String,
        Enum = values.Select(v => (JsonNode)JsonValue.Create(v)).ToList(),
        Default = @default is null ? null : JsonValue.Create(@default),
    };

    internal static readonly IReadOnlyList<string> AgentStatusValues =
        [AgentStatuses.Running, AgentStatuses.Completed, AgentStatuses.Failed, AgentStatuses.Stopped, AgentStatuses.Abandoned];

    private static readonly IReadOnlyList<string> s_workflowStatuses =
        [WorkflowStatuses.Queued, WorkflowStatuses.Running, WorkflowStatuses.Completed, WorkflowStatuses.Failed, WorkflowStatuses.Cancelled, WorkflowStatuses.BudgetExceeded];

    private static readonly IReadOnlyList<string> s_stepStatuses =
        [StepStatuses.Running, StepStatuses.Completed, StepStatuses.Failed, StepStatuses.Skipped, StepStatuses.RolledBack, StepStatuses.Cancelled];

    private static readonly IReadOnlyList<string> s_errorCodes =
        [ErrorCodes.ValidationError, ErrorCodes.Unauthorized, ErrorCodes.Forbidden, ErrorCodes.NotFound, ErrorCodes.Conflict, ErrorCodes.Unprocessable,
         ErrorCodes.RateLimited, ErrorCodes.BudgetExceeded, ErrorCodes.Unavailable, ErrorCodes.Internal, ErrorCodes.BadRequest, ErrorCodes.PayloadTooLarge];

    private static readonly IReadOnlyList<string> s_healthStatuses = ["healthy", "degraded", "unhealthy"];

    /// <summary>The string fields whose values are a closed set: (declaring type, JSON name) → the values.</summary>
    private static readonly Dictionary<(Type, string), IReadOnlyList<string>> s_enums = new()
    {
        [(typeof(TasksApi.TaskResponse), "status")] = TaskStatuses.All,
        [(typeof(TasksApi.TaskResponse), "kind")] = TaskKinds.All,
        [(typeof(TasksApi.TaskResponse), "source")] = TaskSources.All,
        [(typeof(TasksApi.TaskResponse), "priority")] = TaskPriorities.All,
        [(typeof(TasksApi.CreateTaskRequest), "priority")] = TaskPriorities.All,
        [(typeof(TasksApi.CreateTaskRequest), "source")] = TaskSources.All,
        [(typeof(TasksApi.CreateTaskRequest), "agent_type")] = TasksApi.AgentTypes,
        [(typeof(TasksApi.UpdateTaskRequest), "priority")] = TaskPriorities.All,
        [(typeof(TasksApi.AssignRequest), "priority")] = TaskPriorities.All,
        [(typeof(TasksApi.AssignRequest), "agent_type")] = TasksApi.AgentTypes,
        [(typeof(AgentsApi.AgentResponse), "status")] = AgentStatusValues,
        [(typeof(WorkflowsApi.ExecutionResponse), "status")] = s_workflowStatuses,
        [(typeof(WorkflowsApi.StepResponse), "status")] = s_stepStatuses,
        [(typeof(WorkflowsApi.StepResponse), "type")] = [WorkflowStepTypes.PluginAction, WorkflowStepTypes.AiAction],
        [(typeof(WorkflowsApi.WorkflowStepResponse), "type")] = [WorkflowStepTypes.PluginAction, WorkflowStepTypes.AiAction],
        [(typeof(ProjectsApi.PlannedTaskResponse), "status")] = TaskStatuses.All,
        [(typeof(ProjectsApi.PlannedEpicResponse), "status")] = TaskStatuses.All,
        [(typeof(AuthApi.UserResponse), "role")] = Roles.All,
        [(typeof(AuditApi.AuditEntryResponse), "action")] = AuditActions.All,
        [(typeof(UsersApi.UserDetailResponse), "role")] = Roles.All,
        [(typeof(UsersApi.CreatedUserResponse), "role")] = Roles.All,
        [(typeof(UsersApi.CreateUserRequest), "role")] = Roles.All,
        [(typeof(UsersApi.UpdateUserRequest), "role")] = Roles.All,
        [(typeof(AgentsApi.TaskAgentStatusResponse), "status")] = TaskStatuses.All,
        [(typeof(CostsApi.CostsResponse), "group_by")] = CostsApi.GroupBys,
        [(typeof(ApiError), "code")] = s_errorCodes,
        [(typeof(HealthEndpoints.HealthReportResponse), "status")] = s_healthStatuses,
        [(typeof(HealthEndpoints.ServiceHealth), "status")] = s_healthStatuses,
    };

    /// <summary>The request fields the API refuses to go without (every other request field is optional).</summary>
    private static readonly Dictionary<Type, string[]> s_requiredRequestFields = new()
    {
        [typeof(AuthApi.LoginRequest)] = ["email", "password"],
        [typeof(TasksApi.CreateTaskRequest)] = ["title"],
        [typeof(WorkflowExecuteApi.ExecuteRequest)] = ["workflow", "task_id"],
        [typeof(ProjectsApi.GeneratePlanRequest)] = ["requirements"],
    };

    private static readonly Dictionary<Type, JsonNode> s_examples = new()
    {
        [typeof(AuthApi.LoginRequest)] = new JsonObject { ["email"] = "admin@example.com", ["password"] = "correct-horse-battery" },
        [typeof(TasksApi.CreateTaskRequest)] = new JsonObject
        {
            ["title"] = "Add a /healthz endpoint",
            ["description"] = "Answer 200 with {\"ok\": true}.",
            ["project_id"] = 1,
            ["priority"] = "high",
            ["auto_start"] = true,
        },
        [typeof(ProjectsApi.ProjectRequest)] = new JsonObject
        {
            ["name"] = "shop",
            ["repository_url"] = "https://github.com/acme/shop.git",
            ["default_branch"] = "main",
            ["test_command"] = "dotnet test",
        },
        [typeof(ProjectsApi.GeneratePlanRequest)] = new JsonObject { ["requirements"] = new JsonArray("Users can reset their password by email."), ["auto_start"] = false },
    };

    private static void DescribeSchema(OpenApiSchema schema, OpenApiSchemaTransformerContext context)
    {
        if (context.JsonPropertyInfo is { } property && s_enums.TryGetValue((property.DeclaringType, property.Name), out var values))
        {
            var nullable = schema.Type?.HasFlag(JsonSchemaType.Null) == true;
            schema.Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v)), .. nullable ? new JsonNode[] { null! } : []];
            return;
        }

        if (context.JsonPropertyInfo is not null)
        {
            return;
        }

        var type = context.JsonTypeInfo.Type;
        if (type.Name.EndsWith("Request", StringComparison.Ordinal) && type.Namespace?.StartsWith("DevOrchestrator", StringComparison.Ordinal) == true)
        {
            // System.Text.Json calls every constructor parameter required; the API requires only these.
            schema.Required = new HashSet<string>(s_requiredRequestFields.GetValueOrDefault(type) ?? []);
        }

        if (s_examples.TryGetValue(type, out var example))
        {
            schema.Examples = [example.DeepClone()];
        }
    }
}
