using RootCause.Api;
using RootCause.Api.Receivers;
using RootCause.Connectors;
using RootCause.Silo.Demo;
using RootCause.Silo.Health;
using RootCause.Silo.Hosting;

namespace RootCause.Silo;

/// <summary>One silo process: the Orleans silo, the REST API, health endpoints and the web page.</summary>
public static class RootCauseSilo
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            // appsettings.json ships beside the binaries: load it whatever the working directory.
            ContentRootPath = AppContext.BaseDirectory,
            WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot"),
        });
        builder.AddRootCauseDatabase();
        builder.AddRootCauseSilo();
        builder.AddRootCauseApi();
        builder.AddRootCauseHealth();
        builder.AddCatalogFile();
        builder.AddConnectorsFile();
        builder.AddDemoIncident();
        builder.AddOtlpGrpcListener();

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapRootCauseApi();
        app.MapRootCauseHealth();
        app.MapOtlpGrpc(app.Configuration);
        return app;
    }
}
