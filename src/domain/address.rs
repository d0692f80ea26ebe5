//! Blockchain address checks by network family: EVM (0x + 40 hex, mixed
//! case checked as EIP-55), Bitcoin (bech32/bech32m or base58check), Tron
//! (base58check, version 0x41, starting with T). Other networks fall back
//! to their configured pattern.

use sha3::{Digest, Keccak256};

/// The family of a network code.
fn family(network: &str) -> Option<&'static str> {
    match network {
        "ethereum" | "polygon" | "arbitrum" | "optimism" | "base" | "bsc" | "avalanche" | "sepolia" => Some("evm"),
        "bitcoin" => Some("bitcoin"),
        "tron" => Some("tron"),
        _ => None,
    }
}

fn evm(address: &str) -> Result<(), String> {
    let hex = address.strip_prefix("0x").ok_or("an EVM address starts with 0x")?;
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("an EVM address is 0x and 40 hex digits".into());
    }
    let lower = hex.to_ascii_lowercase();
    if hex == lower || hex == hex.to_ascii_uppercase() {
        return Ok(());
    }
    let hash = Keccak256::digest(lower.as_bytes());
    for (i, c) in hex.chars().enumerate() {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
        if c.is_ascii_alphabetic() && (nibble >= 8) != c.is_ascii_uppercase() {
            return Err("the EIP-55 checksum (mixed case) does not match".into());
        }
    }
    Ok(())
}

fn base58check(address: &str, versions: &[u8]) -> Result<(), String> {
    let bytes = bs58::decode(address).with_check(None).into_vec().map_err(|_| "the base58 checksum does not match")?;
    if bytes.len() != 21 || !versions.contains(&bytes[0]) {
        return Err("not an address of this network".into());
    }
    Ok(())
}

fn bitcoin(address: &str) -> Result<(), String> {
    let lower = address.to_ascii_lowercase();
    if lower.starts_with("bc1") {
        let (hrp, _version, program) = bech32::segwit::decode(address).map_err(|_| "not a valid bech32 address")?;
        if hrp.as_str() != "bc" || !(2..=40).contains(&program.len()) {
            return Err("not a mainnet segwit address".into());
        }
        return Ok(());
    }
    base58check(address, &[0x00, 0x05])
}

fn tron(address: &str) -> Result<(), String> {
    if !address.starts_with('T') {
        return Err("a Tron address starts with T".into());
    }
    base58check(address, &[0x41])
}

/// Checks `address` for `network`; `pattern` is the network's configured
/// regular expression, used for networks of no known family.
pub fn check(network: &str, pattern: Option<&str>, address: &str) -> Result<(), String> {
    if address.is_empty() || address.len() > 128 || address.chars().any(char::is_whitespace) {
        return Err("must be 1 to 128 characters without spaces".into());
    }
    match family(network) {
        Some("evm") => evm(address),
        Some("bitcoin") => bitcoin(address),
        Some("tron") => tron(address),
        _ => match pattern {
            Some(p) => match regex::Regex::new(p) {
                Ok(re) if re.is_match(address) => Ok(()),
                Ok(_) => Err(format!("does not match the network's pattern {p}")),
                Err(_) => Err("the network's address pattern is invalid".into()),
            },
            None => Ok(()),
        },
    }
}

/// A deterministic valid address of a known family from seed bytes, for
/// demo data.
pub fn demo_address(network: &str, seed: &[u8]) -> String {
    let hash = Keccak256::digest(seed);
    let body = &hash[..20];
    match family(network) {
        Some("bitcoin") => bech32::segwit::encode_v0(bech32::hrp::BC, body).unwrap_or_default(),
        Some("tron") => {
            let mut raw = vec![0x41u8];
            raw.extend_from_slice(body);
            bs58::encode(raw).with_check().into_string()
        }
        _ => format!("0x{}", hex::encode(body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evm_addresses() {
        assert!(check("ethereum", None, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").is_ok());
        assert!(check("ethereum", None, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").is_ok());
        assert!(check("ethereum", None, "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").is_err(), "bad checksum");
        assert!(check("polygon", None, "0x123").is_err());
    }

    #[test]
    fn bitcoin_and_tron() {
        assert!(check("bitcoin", None, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq").is_ok());
        assert!(check("bitcoin", None, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2").is_ok());
        assert!(check("bitcoin", None, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3").is_err());
        assert!(check("bitcoin", None, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx").is_err());
        let t = demo_address("tron", b"x");
        assert!(t.starts_with('T') && check("tron", None, &t).is_ok());
        let b = demo_address("bitcoin", b"x");
        assert!(check("bitcoin", None, &b).is_ok());
        assert!(check("tron", None, "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU8").is_err());
    }
}
