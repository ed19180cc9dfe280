using RootCause.Silo;

var app = RootCauseSilo.Build(args);
await app.RunAsync();
