namespace DevOrchestrator.Features.Auth;

/// <summary>The three roles, in increasing power: a role may do everything the roles before it may.</summary>
public static class Roles
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Viewer, Operator, Admin];

    public static bool IsValid(string? role) => role is not null && All.Contains(role);

    /// <summary>The authorization policy names: a policy admits its role and every stronger one.</summary>
    public const string CanView = "can_view";
    public const string CanOperate = "can_operate";
    public const string CanAdminister = "can_administer";
}
