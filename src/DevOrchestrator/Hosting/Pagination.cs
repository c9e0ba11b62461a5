namespace DevOrchestrator.Hosting;

public sealed record Pagination(int Page, int PerPage, long Total, int Pages);
