//! The `accounts-gateway` binary: parse the command line, set up logs, run.

use accounts_gateway::app::Application;
use accounts_gateway::config::{ApiKeyCommand, Cli, Command, ExportArgs, ImportArgs, Settings};
use accounts_gateway::domain::Role;
use accounts_gateway::metrics::Metrics;
use accounts_gateway::service::bulk_import::{self, reader::Rows};
use accounts_gateway::service::export::{self, Format};
use accounts_gateway::service::{api_keys, organizations, secrets, seed};
use accounts_gateway::{db, graphql, telemetry};
use clap::Parser;

// A page resolves thousands of small values; glibc's malloc spent about a
// sixth of the gateway's CPU on them (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn fail(e: accounts_gateway::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}: {e:?}")
}

async fn connect(s: &Settings) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let conn = db::connect(&s.database_url, 2, &Metrics::default(), db::Timeouts::NONE).await?;
    accounts_gateway::app::upgrade(&conn, accounts_gateway::clock::Clock::system().now()).await?;
    Ok(conn)
}

async fn serve(s: &Settings) -> anyhow::Result<()> {
    let app = Application::build(s).await?;
    if let Some(key) = app.initial_admin_key() {
        let port = app.port();
        println!("New database: an admin API key for the demo organization, shown this once:\n");
        println!("    {key}\n");
        println!("In GraphiQL (http://127.0.0.1:{port}/graphiql) open Headers and paste:");
        println!("    {{\"x-api-key\": \"{key}\"}}\n");
    }
    app.run_until_stopped().await?;
    Ok(())
}

async fn api_key(s: &Settings, cmd: ApiKeyCommand) -> anyhow::Result<()> {
    let conn = connect(s).await?;
    match cmd {
        ApiKeyCommand::Create { org, role, name } => {
            let role = Role::from_name(&role.to_uppercase())
                .ok_or_else(|| anyhow::anyhow!("--role is ADMIN, OPERATOR or VIEWER"))?;
            let (row, key) = api_keys::create(&conn, &org, role, &name).await.map_err(fail)?;
            println!("created key {} ({}) for {org} as {}; it is shown once:", row.id, row.prefix, row.role);
            println!("{key}");
        }
        ApiKeyCommand::List { org } => {
            for (k, org) in api_keys::list(&conn, org.as_deref()).await.map_err(fail)? {
                let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{}  {}  {org}  {}  {}  {state}  created {}", k.id, k.prefix, k.role, k.name, k.created_at);
            }
        }
        ApiKeyCommand::Revoke { key } => {
            let k = api_keys::revoke(&conn, &key).await.map_err(fail)?;
            println!("revoked {} ({})", k.id, k.prefix);
        }
    }
    Ok(())
}

/// A progress bar on standard error, drawn only when that is a terminal
/// (indicatif's own rule), so logs and pipes stay clean.
fn progress_bar(template: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// `export`: the accounts of `--org`, written as they are read.
async fn export(s: &Settings, args: ExportArgs) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let conn = connect(s).await?;
    let org = organizations::by_name(&conn, &args.org)
        .await
        .map_err(fail)?
        .ok_or_else(|| anyhow::anyhow!("no organization called {:?}", args.org))?;
    let query = graphql::filters::account_query_from_json(args.filter.as_deref()).map_err(fail)?;
    let by_extension =
        args.output.as_ref().and_then(|p| p.extension()).and_then(|e| Format::parse(&e.to_string_lossy()));
    let format = args.format.or(by_extension).unwrap_or(Format::Jsonl);
    let mut out: Box<dyn tokio::io::AsyncWrite + Unpin + Send> = match &args.output {
        Some(path) => Box::new(tokio::fs::File::create(path).await?),
        None => Box::new(tokio::io::stdout()),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let bar = progress_bar("{spinner} exported {pos}/{len} accounts [{elapsed}] {wide_bar}");
    let shown = bar.clone();
    let writing = tokio::spawn(async move {
        let progress = move |done: u64, total: u64| {
            shown.set_length(total);
            shown.set_position(done);
        };
        export::export(&conn, org.id, &query, format, tx, &progress).await
    });
    while let Some(chunk) = rx.recv().await {
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    let accounts = writing.await?.map_err(fail)?;
    bar.finish_and_clear();
    tracing::info!(accounts, "exported");
    Ok(())
}

/// `import`: the accounts of a file into `--org`. Rejected rows go to
/// standard error by line; the exit status is 2 when there were any.
async fn import(s: &Settings, args: ImportArgs) -> anyhow::Result<std::process::ExitCode> {
    let conn = connect(s).await?;
    let stdin = args.file.as_os_str() == "-";
    let by_extension = args.file.extension().and_then(|e| Format::parse(&e.to_string_lossy()));
    let format = args
        .format
        .or(by_extension)
        .ok_or_else(|| anyhow::anyhow!("say --format csv or jsonl: the file's extension does not tell"))?;
    let (input, size): (Box<dyn std::io::Read + Send>, u64) = if stdin {
        (Box::new(std::io::stdin()), 0)
    } else {
        let file = std::fs::File::open(&args.file)?;
        let size = file.metadata()?.len();
        (Box::new(file), size)
    };
    let mut rows = Rows::new(input, format)?;
    let bar = progress_bar("{spinner} importing {bytes}/{total_bytes} [{elapsed}] {wide_bar}");
    bar.set_length(size);
    let shown = bar.clone();
    let progress = move |read: u64| shown.set_position(read);
    let actor = format!("import:{}", args.file.display());
    let report = bulk_import::import(&conn, &args.org, &mut rows, &actor, &progress).await.map_err(fail)?;
    bar.finish_and_clear();
    for r in &report.rejected {
        eprintln!("line {}: {}", r.line, r.reason);
    }
    println!(
        "created {}, skipped {} (already there), rejected {}",
        report.created,
        report.skipped,
        report.rejected.len()
    );
    Ok(if report.rejected.is_empty() { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::from(2) })
}

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    let telemetry = telemetry::init(cli.settings.log_format)?;
    let s = cli.settings;
    let outcome = run(cli.command.unwrap_or(Command::Serve), &s).await;
    telemetry.shutdown().await;
    outcome
}

/// Runs one command of the binary.
async fn run(command: Command, s: &Settings) -> anyhow::Result<std::process::ExitCode> {
    match command {
        Command::Serve => serve(s).await?,
        Command::Schema => print!("{}", graphql::sdl()),
        Command::Migrate => {
            connect(s).await?;
            tracing::info!("migrations applied");
        }
        Command::Seed(args) => {
            let conn = connect(s).await?;
            let started = std::time::Instant::now();
            let key = secrets::card_key(&conn, &s.card_key_source()).await?;
            // One transaction builds and writes everything: a spinner, not a bar.
            let bar = progress_bar(&format!("{{spinner}} seeding {} accounts [{{elapsed}}]", args.accounts));
            let report =
                seed::seed(&conn, organizations::DEMO, args.accounts, &key, chrono::Utc::now()).await.map_err(fail)?;
            bar.finish_and_clear();
            tracing::info!(
                accounts = report.accounts,
                assets = report.assets,
                seconds = started.elapsed().as_secs_f64(),
                "seeded"
            );
        }
        Command::ApiKey(cmd) => api_key(s, cmd).await?,
        Command::Export(args) => export(s, args).await?,
        Command::Import(args) => return import(s, args).await,
    }
    Ok(std::process::ExitCode::SUCCESS)
}
