using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DevOrchestrator.Data.Migrations.Sqlite
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
                type: "TEXT",
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
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
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
                type: "TEXT",
                nullable: true);
        }
    }
}
