using Microsoft.AspNetCore.Mvc;

namespace DevOrchestrator.Hosting;

/// <summary>
/// The <c>page</c>, <c>per_page</c>, <c>sort</c> and <c>order</c> query parameters of a list, bound with
/// <c>[AsParameters]</c>. They bind as text so that a request with several bad values is answered once, naming every
/// one of them (<see cref="PageRequest.Read"/> checks them); the OpenAPI document declares their types and limits
/// (see <see cref="OpenApiContract"/>).
/// </summary>
public sealed record PageQuery(
    [FromQuery(Name = "page")] string? Page,
    [FromQuery(Name = "per_page")] string? PerPage,
    [FromQuery(Name = "sort")] string? Sort,
    [FromQuery(Name = "order")] string? Order);
