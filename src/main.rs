//! The `accounts-gateway` binary: parse the command line, set up logs, run.

use accounts_gateway::app::Application;
use accounts_gateway::config::{Cli, Command};
use accounts_gateway::metrics::Metrics;
use accounts_gateway::service::{organizations, secrets, seed};
use accounts_gateway::{db, graphql, telemetry};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init(cli.settings.log_format);
    let s = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => Application::build(&s).await?.run_until_stopped().await?,
        Command::Schema => print!("{}", graphql::sdl()),
        Command::Migrate => {
            let conn = db::connect(&s.database_url, 2, &Metrics::default()).await?;
            db::migrate(&conn).await?;
            tracing::info!("migrations applied");
        }
        Command::Seed(args) => {
            let conn = db::connect(&s.database_url, 2, &Metrics::default()).await?;
            db::migrate(&conn).await?;
            let started = std::time::Instant::now();
            let key = secrets::card_key(&conn, None).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let report = seed::seed(&conn, organizations::DEMO, args.accounts, &key)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            tracing::info!(
                accounts = report.accounts,
                assets = report.assets,
                seconds = started.elapsed().as_secs_f64(),
                "seeded"
            );
        }
    }
    Ok(())
}
