//! icg-renew: renew the TLS certificate of an IGEL Cloud Gateway on the gateway host itself.
//!
//! The library holds every decision and knows nothing of terminals or of the command line: no clap type, no
//! option name. The binary (`src/main.rs` with its modules `cli`, `commands` and `ui`) is the edge: it parses
//! the arguments, resolves them once into this library's values, calls it, shows what comes back and turns
//! the outcome into an exit code. See `docs/architecture.md` for the layers and the data flow.

pub mod audit;
pub mod cert;
pub mod checks;
pub mod csr;
pub mod error;
pub mod failpoint;
pub mod fsx;
pub mod hook;
pub mod install;
pub mod installed;
pub mod interrupt;
pub mod invocation;
pub mod keystore;
pub mod lineage;
pub mod material;
pub mod metrics;
pub mod monitoring;
pub mod notify;
pub mod outfile;
pub mod pending;
pub mod renew;
pub mod report;
pub mod retention;
pub mod sandbox;
pub mod schedule;
pub mod secret;
pub mod service;
pub mod shown;
pub mod utc;
