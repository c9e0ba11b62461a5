using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Data;

/// <summary>
/// The database: the single source of truth. Each provider has its own subclass so that it can carry its own
/// migrations (<see cref="SqliteAppDbContext"/>, <see cref="PostgresAppDbContext"/>).
/// </summary>
public abstract class AppDbContext : DbContext
{
    protected AppDbContext(DbContextOptions options)
        : base(options)
    {
        // No savepoint around each SaveChanges inside our transactions: nothing retries a failed save within one (a
        // failed unit of work is rolled back and retried whole), and they cost two statements per save.
        Database.AutoSavepointsEnabled = false;
    }

    public DbSet<User> Users => Set<User>();
    public DbSet<Project> Projects => Set<Project>();
    public DbSet<ProjectMember> ProjectMembers => Set<ProjectMember>();
    public DbSet<DevTask> Tasks => Set<DevTask>();
    public DbSet<AgentExecution> AgentExecutions => Set<AgentExecution>();
    public DbSet<WorkflowExecution> WorkflowExecutions => Set<WorkflowExecution>();
    public DbSet<WorkflowStepExecution> WorkflowSteps => Set<WorkflowStepExecution>();
    public DbSet<TaskEvent> Events => Set<TaskEvent>();
    public DbSet<CostEntry> CostEntries => Set<CostEntry>();
    public DbSet<BudgetMonth> BudgetMonths => Set<BudgetMonth>();
    public DbSet<CostReservation> CostReservations => Set<CostReservation>();
    public DbSet<AgentCheckpoint> AgentCheckpoints => Set<AgentCheckpoint>();
    public DbSet<PluginConfig> PluginConfigs => Set<PluginConfig>();
    public DbSet<ExternalEffect> ExternalEffects => Set<ExternalEffect>();
    public DbSet<WebhookDelivery> WebhookDeliveries => Set<WebhookDelivery>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<AuditEntry> AuditLog => Set<AuditEntry>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<User>(e =>
        {
            e.ToTable("users");
            e.Property(u => u.Email).HasMaxLength(320);
            e.Property(u => u.Role).HasMaxLength(20);
            e.HasIndex(u => u.Email).IsUnique();
        });

        modelBuilder.Entity<Project>(e =>
        {
            e.ToTable("projects");
            e.Property(p => p.Name).HasMaxLength(200);
            e.Property(p => p.DefaultBranch).HasMaxLength(200);
            e.HasIndex(p => p.Name).IsUnique();
            e.HasIndex(p => p.RepositoryUrl);
            e.HasIndex(p => p.JiraProjectKey);
        });

        modelBuilder.Entity<ProjectMember>(e =>
        {
            e.ToTable("project_members");
            e.HasKey(m => new { m.ProjectId, m.UserId });
            e.Property(m => m.Role).HasMaxLength(20);
            e.HasOne(m => m.Project).WithMany().HasForeignKey(m => m.ProjectId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<User>().WithMany().HasForeignKey(m => m.UserId).OnDelete(DeleteBehavior.Cascade);
            // The visibility filters read "the projects of user U": (user_id, project_id) answers from the index alone.
            e.HasIndex(m => new { m.UserId, m.ProjectId });
        });

        modelBuilder.Entity<DevTask>(e =>
        {
            e.ToTable("tasks");
            e.Property(t => t.Title).HasMaxLength(500);
            e.Property(t => t.Status).HasMaxLength(20);
            e.Property(t => t.Source).HasMaxLength(20);
            e.Property(t => t.Priority).HasMaxLength(20);
            e.Property(t => t.ExternalId).HasMaxLength(200);
            e.Property(t => t.IdempotencyKey).HasMaxLength(200);
            e.Property(t => t.IdempotencyFingerprint).HasMaxLength(64);
            e.Property(t => t.Kind).HasMaxLength(20);
            e.Property(t => t.TraceParent).HasMaxLength(55);
            e.HasOne<DevTask>().WithMany().HasForeignKey(t => t.ParentId).OnDelete(DeleteBehavior.SetNull);
            e.HasOne<Project>().WithMany().HasForeignKey(t => t.ProjectId).OnDelete(DeleteBehavior.Restrict);
            e.HasOne<User>().WithMany().HasForeignKey(t => t.CreatedByUserId).OnDelete(DeleteBehavior.SetNull);
            e.HasIndex(t => new { t.Status, t.CreatedAt });
            // The queue: claims read queued tasks in order and running tasks whose lease has expired.
            e.HasIndex(t => new { t.Status, t.QueuedAt });
            e.HasIndex(t => new { t.Status, t.LeaseExpiresAt });
            e.HasIndex(t => new { t.ProjectId, t.Status, t.CreatedAt });
            e.HasIndex(t => new { t.Source, t.ExternalId }).IsUnique();
            e.HasIndex(t => new { t.CreatedByUserId, t.IdempotencyKey }).IsUnique();
        });

        modelBuilder.Entity<AgentExecution>(e =>
        {
            e.ToTable("agent_executions");
            e.Property(a => a.AgentType).HasMaxLength(50);
            e.Property(a => a.Status).HasMaxLength(20);
            e.HasOne<DevTask>().WithMany().HasForeignKey(a => a.TaskId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(a => new { a.TaskId, a.StartedAt });
            e.HasIndex(a => a.Status);
        });

        modelBuilder.Entity<WorkflowExecution>(e =>
        {
            e.ToTable("workflow_executions");
            e.Property(w => w.WorkflowName).HasMaxLength(200);
            e.Property(w => w.Status).HasMaxLength(20);
            e.HasOne<DevTask>().WithMany().HasForeignKey(w => w.TaskId).OnDelete(DeleteBehavior.Cascade);
            e.HasMany(w => w.Steps).WithOne().HasForeignKey(s => s.WorkflowExecutionId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(w => new { w.TaskId, w.CreatedAt });
            e.HasIndex(w => w.Status);
        });

        modelBuilder.Entity<WorkflowStepExecution>(e =>
        {
            e.ToTable("workflow_steps");
            e.Property(s => s.Name).HasMaxLength(200);
            e.Property(s => s.Status).HasMaxLength(20);
            e.HasIndex(s => new { s.WorkflowExecutionId, s.Index });
        });

        modelBuilder.Entity<TaskEvent>(e =>
        {
            e.ToTable("events");
            e.Property(ev => ev.Type).HasMaxLength(100);
            e.HasOne(ev => ev.Task).WithMany().HasForeignKey(ev => ev.TaskId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(ev => new { ev.TaskId, ev.Id });
        });

        modelBuilder.Entity<CostEntry>(e =>
        {
            e.ToTable("cost_entries");
            e.Property(c => c.Provider).HasMaxLength(50);
            e.Property(c => c.Model).HasMaxLength(200);
            e.Property(c => c.Usd).HasPrecision(18, 6);
            e.HasIndex(c => c.CreatedAt);
            e.HasIndex(c => new { c.TaskId, c.CreatedAt });
            e.HasIndex(c => new { c.ProjectId, c.CreatedAt });
            e.HasIndex(c => new { c.UserId, c.CreatedAt });
        });

        modelBuilder.Entity<BudgetMonth>(e =>
        {
            e.ToTable("budget_months");
            e.HasKey(b => b.Month);
            e.Property(b => b.Month).HasMaxLength(7);
        });

        modelBuilder.Entity<CostReservation>(e =>
        {
            e.ToTable("cost_reservations");
            e.Property(r => r.Month).HasMaxLength(7);
            e.HasIndex(r => r.ExpiresAt);
        });

        modelBuilder.Entity<AgentCheckpoint>(e =>
        {
            e.ToTable("agent_checkpoints");
            e.Property(c => c.Conversation).HasMaxLength(200);
            e.HasOne<DevTask>().WithMany().HasForeignKey(c => c.TaskId).OnDelete(DeleteBehavior.Cascade);
            e.HasIndex(c => new { c.WorkflowExecutionId, c.Conversation }).IsUnique();
        });

        modelBuilder.Entity<PluginConfig>(e =>
        {
            e.ToTable("plugin_configs");
            e.Property(c => c.Type).HasMaxLength(50);
            e.Property(c => c.Name).HasMaxLength(100);
            e.HasIndex(c => new { c.Type, c.Name }).IsUnique();
        });

        modelBuilder.Entity<ExternalEffect>(e =>
        {
            e.ToTable("external_effects");
            e.Property(x => x.Key).HasMaxLength(400);
            e.Property(x => x.Plugin).HasMaxLength(100);
            e.Property(x => x.Operation).HasMaxLength(100);
            e.Property(x => x.Status).HasMaxLength(20);
            e.HasIndex(x => x.Key).IsUnique();
            e.HasIndex(x => new { x.TaskId, x.Operation });
            e.HasOne<DevTask>().WithMany().HasForeignKey(x => x.TaskId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<WebhookDelivery>(e =>
        {
            e.ToTable("webhook_deliveries");
            e.Property(d => d.Source).HasMaxLength(20);
            e.Property(d => d.DeliveryId).HasMaxLength(200);
            e.Property(d => d.Event).HasMaxLength(100);
            e.Property(d => d.Outcome).HasMaxLength(30);
            e.HasIndex(d => new { d.Source, d.DeliveryId }).IsUnique();
            e.HasIndex(d => d.ReceivedAt);
        });

        modelBuilder.Entity<ApiKey>(e =>
        {
            e.ToTable("api_keys");
            e.Property(k => k.Name).HasMaxLength(100);
            e.Property(k => k.KeyHash).HasMaxLength(64);
            e.Property(k => k.Prefix).HasMaxLength(20);
            e.Property(k => k.LastChars).HasMaxLength(10);
            e.HasOne<User>().WithMany().HasForeignKey(k => k.UserId).OnDelete(DeleteBehavior.Cascade);
            // Every request with a key looks it up by its hash.
            e.HasIndex(k => k.KeyHash).IsUnique();
            e.HasIndex(k => new { k.UserId, k.Id });
        });

        modelBuilder.Entity<AuditEntry>(e =>
        {
            e.ToTable("audit_log");
            e.Property(a => a.ActorEmail).HasMaxLength(320);
            e.Property(a => a.Action).HasMaxLength(50);
            e.Property(a => a.TargetType).HasMaxLength(50);
            e.Property(a => a.TargetId).HasMaxLength(200);
            e.Property(a => a.ClientIp).HasMaxLength(64);
            e.Property(a => a.RequestId).HasMaxLength(128);
            e.HasIndex(a => a.At);
            e.HasIndex(a => new { a.Action, a.At });
            e.HasIndex(a => new { a.ActorUserId, a.At });
            e.HasIndex(a => new { a.TargetType, a.TargetId });
        });
    }
}
