using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DevOrchestrator.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class TasksTableIsTheQueue : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "job_id",
                table: "tasks");

            migrationBuilder.AddColumn<string>(
                name: "idempotency_fingerprint",
                table: "tasks",
                type: "character varying(64)",
                maxLength: 64,
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_tasks_status_lease_expires_at",
                table: "tasks",
                columns: new[] { "status", "lease_expires_at" });

            migrationBuilder.CreateIndex(
                name: "ix_tasks_status_queued_at",
                table: "tasks",
                columns: new[] { "status", "queued_at" });

            // Wakes idle workers (TaskNotificationListener): NOTIFY is delivered at commit, once per transaction.
            migrationBuilder.Sql("""
                CREATE FUNCTION devorch_notify_task_queued() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('devorch_tasks', '');
                    RETURN NULL;
                END
                $$;
                CREATE TRIGGER tasks_queued_notify AFTER INSERT OR UPDATE OF status ON tasks
                    FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION devorch_notify_task_queued();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER IF EXISTS tasks_queued_notify ON tasks; DROP FUNCTION IF EXISTS devorch_notify_task_queued();");

            migrationBuilder.DropIndex(
                name: "ix_tasks_status_lease_expires_at",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "ix_tasks_status_queued_at",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "idempotency_fingerprint",
                table: "tasks");

            migrationBuilder.AddColumn<string>(
                name: "job_id",
                table: "tasks",
                type: "text",
                nullable: true);
        }
    }
}
