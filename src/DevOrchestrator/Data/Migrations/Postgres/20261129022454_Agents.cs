using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace DevOrchestrator.Data.Migrations.Postgres
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
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<long>(
                name: "cost_reserved_micros",
                table: "tasks",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<string>(
                name: "kind",
                table: "tasks",
                type: "character varying(20)",
                maxLength: 20,
                nullable: false,
                defaultValue: "task");

            migrationBuilder.AddColumn<long>(
                name: "parent_id",
                table: "tasks",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "cost_micros",
                table: "agent_executions",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.CreateTable(
                name: "agent_checkpoints",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    task_id = table.Column<long>(type: "bigint", nullable: false),
                    workflow_execution_id = table.Column<long>(type: "bigint", nullable: false),
                    conversation = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    turn = table.Column<int>(type: "integer", nullable: false),
                    messages = table.Column<string>(type: "text", nullable: false),
                    state = table.Column<string>(type: "text", nullable: true),
                    diff = table.Column<string>(type: "text", nullable: true),
                    base_commit = table.Column<string>(type: "text", nullable: true),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
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
                    month = table.Column<string>(type: "character varying(7)", maxLength: 7, nullable: false),
                    spent_micros = table.Column<long>(type: "bigint", nullable: false),
                    reserved_micros = table.Column<long>(type: "bigint", nullable: false),
                    alerted80 = table.Column<bool>(type: "boolean", nullable: false),
                    alerted100 = table.Column<bool>(type: "boolean", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_budget_months", x => x.month);
                });

            migrationBuilder.CreateTable(
                name: "cost_reservations",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    task_id = table.Column<long>(type: "bigint", nullable: true),
                    month = table.Column<string>(type: "character varying(7)", maxLength: 7, nullable: false),
                    micros = table.Column<long>(type: "bigint", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    expires_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
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
