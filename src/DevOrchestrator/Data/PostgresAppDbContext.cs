using Microsoft.EntityFrameworkCore;

namespace DevOrchestrator.Data;

public sealed class PostgresAppDbContext(DbContextOptions<PostgresAppDbContext> options) : AppDbContext(options);
