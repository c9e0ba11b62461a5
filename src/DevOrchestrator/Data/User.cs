namespace DevOrchestrator.Data;

public sealed class User
{
    public long Id { get; set; }
    public required string Email { get; set; }
    public required string PasswordHash { get; set; }
    public required string Role { get; set; }
    public bool IsActive { get; set; } = true;

    /// <summary>Tokens carry the version they were issued under; raising it revokes every token issued before.</summary>
    public int TokenVersion { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
