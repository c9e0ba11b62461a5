using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace DevOrchestrator.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Agents : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "cost_micros",
                table: "tasks",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<long>(
                name: "cost_reserved_micros",
                table: "tasks",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<string>(
                name: "kind",
                table: "tasks",
                type: "TEXT",
                maxLength: 20,
                nullable: false,
                defaultValue: "task");

            migrationBuilder.AddColumn<long>(
                name: "parent_id",
                table: "tasks",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "cost_micros",
                table: "agent_executions",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.CreateTable(
                name: "agent_checkpoints",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    task_id = table.Column<long>(type: "INTEGER", nullable: false),
                    workflow_execution_id = table.Column<long>(type: "INTEGER", nullable: false),
                    conversation = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    turn = table.Column<int>(type: "INTEGER", nullable: false),
                    messages = table.Column<string>(type: "TEXT", nullable: false),
                    state = table.Column<string>(type: "TEXT", nullable: true),
                    diff = table.Column<string>(type: "TEXT", nullable: true),
                    base_commit = table.Column<string>(type: "TEXT", nullable: true),
                    updated_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_agent_checkpoints", x => x.id);
                    table.ForeignKey(
                        name: "fk_agent_checkpoints_tasks_task_id",
                        column: x => x.task_id,
                        principalTable: "tasks",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "budget_months",
                columns: table => new
                {
                    month = table.Column<string>(type: "TEXT", maxLength: 7, nullable: false),
                    spent_micros = table.Column<long>(type: "INTEGER", nullable: false),
                    reserved_micros = table.Column<long>(type: "INTEGER", nullable: false),
                    alerted80 = table.Column<bool>(type: "INTEGER", nullable: false),
                    alerted100 = table.Column<bool>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_budget_months", x => x.month);
                });

            migrationBuilder.CreateTable(
                name: "cost_reservations",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    task_id = table.Column<long>(type: "INTEGER", nullable: true),
                    month = table.Column<string>(type: "TEXT", maxLength: 7, nullable: false),
                    micros = table.Column<long>(type: "INTEGER", nullable: false),
                    created_at = table.Column<long>(type: "INTEGER", nullable: false),
                    expires_at = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_cost_reservations", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_tasks_parent_id",
                table: "tasks",
                column: "parent_id");

            migrationBuilder.CreateIndex(
                name: "ix_cost_entries_user_id_created_at",
                table: "cost_entries",
                columns: new[] { "user_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_agent_checkpoints_task_id",
                table: "agent_checkpoints",
                column: "task_id");

            migrationBuilder.CreateIndex(
                name: "ix_agent_checkpoints_workflow_execution_id_conversation",
                table: "agent_checkpoints",
                columns: new[] { "workflow_execution_id", "conversation" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_cost_reservations_expires_at",
                table: "cost_reservations",
                column: "expires_at");

            migrationBuilder.AddForeignKey(
                name: "fk_tasks_tasks_parent_id",
                table: "tasks",
                column: "parent_id",
                principalTable: "tasks",
                principalColumn: "id",
                onDelete: ReferentialAction.SetNull);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "fk_tasks_tasks_parent_id",
                table: "tasks");

            migrationBuilder.DropTable(
                name: "agent_checkpoints");

            migrationBuilder.DropTable(
                name: "budget_months");

            migrationBuilder.DropTable(
                name: "cost_reservations");

            migrationBuilder.DropIndex(
                name: "ix_tasks_parent_id",
                table: "tasks");

            migrationBuilder.DropIndex(
                name: "ix_cost_entries_user_id_created_at",
                table: "cost_entries");

            migrationBuilder.DropColumn(
                name: "cost_micros",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "cost_reserved_micros",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "kind",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "parent_id",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "cost_micros",
                table: "agent_executions");
        }
    }
}
