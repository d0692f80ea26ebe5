//! Address checks by the network's family (`AddressFamily`, stored on
//! the network): EVM (0x + 40 hex, mixed case must pass its EIP-55
//! checksum), Bitcoin (bech32/bech32m or base58check), Tron (base58check,
//! version 0x41), Solana (base58 of 32 bytes), IBAN, or a pattern that the
//! whole address must match. A check returns the address in its one stored
//! form: EVM addresses are kept lower-case (so the same address in another
//! case is the same wallet) and shown with their EIP-55 checksum.

use crate::domain::{validate, AddressFamily};
use sha3::{Digest, Keccak256};

/// The family a network code conventionally names, for networks created
/// without one (and for the migration of networks made before families).
pub fn family_of_code(code: &str) -> Option<AddressFamily> {
    match code {
        "ethereum" | "polygon" | "arbitrum" | "optimism" | "base" | "bsc" | "avalanche" | "sepolia" => {
            Some(AddressFamily::Evm)
        }
        "bitcoin" => Some(AddressFamily::Bitcoin),
        "tron" => Some(AddressFamily::Tron),
        "solana" => Some(AddressFamily::Solana),
        _ => None,
    }
}

/// A pattern anchored at both ends: it must match the whole address.
pub fn anchored(pattern: &str) -> String {
    format!("^(?:{pattern})$")
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

fn solana(address: &str) -> Result<(), String> {
    match bs58::decode(address).into_vec() {
        Ok(bytes) if bytes.len() == 32 => Ok(()),
        _ => Err("a Solana address is the base58 form of 32 bytes".into()),
    }
}

fn pattern(pattern: Option<&str>, address: &str) -> Result<(), String> {
    let p = pattern.ok_or("the network has no address pattern")?;
    match regex::Regex::new(&anchored(p)) {
        Ok(re) if re.is_match(address) => Ok(()),
        Ok(_) => Err(format!("does not match the network's pattern {p}")),
        Err(_) => Err("the network's address pattern is invalid".into()),
    }
}

/// Checks `address` for a network of `family` (with its `pattern`) and
/// returns it in its stored form.
pub fn check(family: AddressFamily, pattern_of_network: Option<&str>, address: &str) -> Result<String, String> {
    if address.is_empty() || address.len() > 128 || address.chars().any(char::is_whitespace) {
        return Err("must be 1 to 128 characters without spaces".into());
    }
    match family {
        AddressFamily::Evm => evm(address).map(|()| address.to_ascii_lowercase()),
        AddressFamily::Bitcoin => bitcoin(address).map(|()| address.to_owned()),
        AddressFamily::Tron => tron(address).map(|()| address.to_owned()),
        AddressFamily::Solana => solana(address).map(|()| address.to_owned()),
        AddressFamily::Iban => validate::iban("address", address).map_err(|e| e.to_string()),
        AddressFamily::Pattern => pattern(pattern_of_network, address).map(|()| address.to_owned()),
        AddressFamily::Unchecked => Ok(address.to_owned()),
    }
}

/// The stored form of an address someone typed, for lookups (the
/// `address` filter): EVM-shaped addresses are compared lower-case.
pub fn lookup_form(address: &str) -> String {
    let a = address.trim();
    match a.strip_prefix("0x") {
        Some(h) if h.len() == 40 && h.chars().all(|c| c.is_ascii_hexdigit()) => a.to_ascii_lowercase(),
        _ => a.to_owned(),
    }
}

/// How a stored address is shown: EVM addresses with their EIP-55
/// checksum, the rest as stored.
pub fn display(family: AddressFamily, stored: &str) -> String {
    match (family, stored.strip_prefix("0x")) {
        (AddressFamily::Evm, Some(hex)) if hex.len() == 40 => {
            let lower = hex.to_ascii_lowercase();
            let hash = Keccak256::digest(lower.as_bytes());
            let mixed: String = lower
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
                    if nibble >= 8 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            format!("0x{mixed}")
        }
        _ => stored.to_owned(),
    }
}

/// A deterministic valid address of a known family from seed bytes, for
/// demo data, in its stored form.
pub fn demo_address(network: &str, seed: &[u8]) -> String {
    let hash = Keccak256::digest(seed);
    let body = &hash[..20];
    match family_of_code(network) {
        Some(AddressFamily::Bitcoin) => bech32::segwit::encode_v0(bech32::hrp::BC, body).unwrap_or_default(),
        Some(AddressFamily::Tron) => {
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
    use AddressFamily::*;

    const CHECKSUMMED: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

    #[test]
    fn evm_addresses_are_stored_lower_case_and_shown_checksummed() {
        let stored = check(Evm, None, CHECKSUMMED);
        assert_eq!(stored.as_deref(), Ok("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"));
        assert_eq!(check(Evm, None, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"), stored, "one form for both");
        assert!(check(Evm, None, "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").is_err(), "bad checksum");
        assert!(check(Evm, None, "0x123").is_err());
        assert_eq!(display(Evm, &stored.unwrap_or_default()), CHECKSUMMED);
        assert_eq!(lookup_form(CHECKSUMMED), "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
        assert_eq!(lookup_form("TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU8"), "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU8");
    }

    #[test]
    fn bitcoin_tron_solana_iban() {
        assert!(check(Bitcoin, None, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq").is_ok());
        assert!(check(Bitcoin, None, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2").is_ok());
        assert!(check(Bitcoin, None, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3").is_err());
        assert!(check(Bitcoin, None, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx").is_err());
        let t = demo_address("tron", b"x");
        assert!(t.starts_with('T') && check(Tron, None, &t).is_ok());
        assert!(check(Bitcoin, None, &demo_address("bitcoin", b"x")).is_ok());
        assert!(check(Tron, None, "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU8").is_err());
        assert!(check(Solana, None, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v").is_ok());
        assert!(check(Solana, None, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").is_err());
        assert_eq!(
            check(Iban, None, "DE89 3704 0044 0532 0130 00").err(),
            Some("must be 1 to 128 characters without spaces".into())
        );
        assert_eq!(check(Iban, None, "de89370400440532013000").as_deref(), Ok("DE89370400440532013000"));
        assert!(check(Iban, None, "DE89370400440532013001").is_err());
    }

    #[test]
    fn patterns_match_the_whole_address_and_unknown_codes_get_no_family() {
        assert!(check(Pattern, Some("[a-z]{4}"), "abcd").is_ok());
        assert!(check(Pattern, Some("[a-z]{4}"), "xxabcdxx").is_err(), "anchored");
        assert!(check(Pattern, Some("a|b"), "ab").is_err(), "alternation stays inside the anchors");
        assert!(check(Pattern, None, "abcd").is_err());
        assert_eq!(family_of_code("eth-mainnet"), None);
        assert_eq!(family_of_code("polygon"), Some(Evm));
    }
}
