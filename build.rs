//! Fetches GraphiQL's browser assets (GraphiQL with its bundled graphql-ws
//! client, React, ReactDOM) from the
//! npm registry at pinned versions, checks them against the registry's
//! published SHA-512 integrity, and leaves them in OUT_DIR for
//! `include_bytes!`: `/graphiql` then works on a machine without internet,
//! and the repository holds no copied third-party code.
//!
//! Builds behind a firewall without the npm registry set
//! `GRAPHIQL_ASSETS_DIR` to a directory holding the four files by name
//! (`graphiql.min.js`, `graphiql.min.css`, `react.production.min.js`,
//! `react-dom.production.min.js`), taken from the same package versions.

use base64::Engine;
use sha2::{Digest, Sha512};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A package tarball, its npm integrity, and the files taken from it.
struct Package {
    tarball: &'static str,
    integrity: &'static str,
    files: &'static [(&'static str, &'static str)],
}

const PACKAGES: &[Package] = &[
    Package {
        tarball: "https://registry.npmjs.org/graphiql/-/graphiql-3.9.0.tgz",
        integrity: "sha512-rJYFlHdBbug9+YbFSwRVvgfPjCayC7wHecZkx/qB4XLuQPFQZw/yB9pmHFtOJV6RiNBBHro3u1GdocKa3YcGRA==",
        files: &[("package/graphiql.min.js", "graphiql.min.js"), ("package/graphiql.min.css", "graphiql.min.css")],
    },
    Package {
        tarball: "https://registry.npmjs.org/react/-/react-18.3.1.tgz",
        integrity: "sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==",
        files: &[("package/umd/react.production.min.js", "react.production.min.js")],
    },
    Package {
        tarball: "https://registry.npmjs.org/react-dom/-/react-dom-18.3.1.tgz",
        integrity: "sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==",
        files: &[("package/umd/react-dom.production.min.js", "react-dom.production.min.js")],
    },
];

type BuildResult<T> = Result<T, Box<dyn std::error::Error>>;

fn download(url: &str) -> BuildResult<Vec<u8>> {
    let registry = std::env::var("NPM_CONFIG_REGISTRY").unwrap_or_default();
    let url = match registry.trim_end_matches('/') {
        "" => url.to_owned(),
        mirror => url.replacen("https://registry.npmjs.org", mirror, 1),
    };
    let mut body = Vec::new();
    ureq::get(&url).call()?.into_reader().take(64 << 20).read_to_end(&mut body)?;
    Ok(body)
}

fn fetch(p: &Package, out: &Path) -> BuildResult<()> {
    if p.files.iter().all(|(_, name)| out.join(name).exists()) {
        return Ok(());
    }
    let tarball = download(p.tarball).map_err(|e| format!("cannot fetch {}: {e}", p.tarball))?;
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha512::digest(&tarball));
    if format!("sha512-{digest}") != p.integrity {
        return Err(format!("{} does not match its pinned integrity", p.tarball).into());
    }
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball.as_slice()));
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if let Some((_, name)) = p.files.iter().find(|(inside, _)| *inside == path) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            std::fs::write(out.join(name), bytes)?;
        }
    }
    match p.files.iter().find(|(_, name)| !out.join(name).exists()) {
        Some((inside, _)) => Err(format!("{} has no {inside}", p.tarball).into()),
        None => Ok(()),
    }
}

fn main() -> BuildResult<()> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GRAPHIQL_ASSETS_DIR");
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("graphiql");
    std::fs::create_dir_all(&out)?;
    if let Some(dir) = std::env::var_os("GRAPHIQL_ASSETS_DIR") {
        for p in PACKAGES {
            for (_, name) in p.files {
                std::fs::copy(Path::new(&dir).join(name), out.join(name))
                    .map_err(|e| format!("GRAPHIQL_ASSETS_DIR has no {name}: {e}"))?;
            }
        }
        return Ok(());
    }
    for p in PACKAGES {
        fetch(p, &out).map_err(|e| {
            format!(
                "{e}\n(GraphiQL's assets come from the npm registry at build time; offline, set GRAPHIQL_ASSETS_DIR)"
            )
        })?;
    }
    Ok(())
}
