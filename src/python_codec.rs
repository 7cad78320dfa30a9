//! Text in the encodings Python names, as ansible-core's modules read and write it:
//! `find`'s `encoding` reads files (`open(encoding=NAME)`), `template`'s `output_encoding`
//! writes them (`str.encode(NAME)`). Python's names are read as its codecs read them (case,
//! `-`, `_` and spaces alike). UTF-8, ASCII, Latin-1, UTF-16 and UTF-32 are Python's own
//! here (WHATWG, which `encoding_rs` follows, takes the Latin ones for windows-1252 and has
//! no encoder for UTF-16); the others go by `encoding_rs`'s labels (`gbk`, `shift_jis`,
//! `euc-kr`, `iso-8859-2`, `windows-1252`...).

/// Why text could not be read or written in an encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// Python knows no encoding of that name (`LookupError`): "unknown encoding: NAME".
    Unknown,
    /// The bytes are not text in that encoding (`UnicodeDecodeError`).
    Invalid,
    /// A character the encoding cannot write (`UnicodeEncodeError`), with Python's words.
    Unencodable(String),
}

/// A Python codec name as its codec registry reads it: `UTF_16 BE` is `utf-16-be`.
fn normalized(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace([' ', '_'], "-")
}

/// The codecs quayside writes itself, by Python's name and aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Own {
    Utf8,
    Utf8Sig,
    Ascii,
    Latin1,
    /// UTF-16 or UTF-32; `None`: the machine's order (little-endian) after a BOM.
    Wide {
        width: usize,
        big: Option<bool>,
    },
}

fn own(name: &str) -> Option<Own> {
    Some(match name {
        "utf-8" | "utf8" | "u8" | "utf" | "cp65001" | "utf8-ucs2" | "utf8-ucs4" => Own::Utf8,
        "utf-8-sig" | "utf8-sig" => Own::Utf8Sig,
        "ascii" | "us-ascii" | "646" | "us" | "ansi-x3.4-1968" | "iso646-us" | "cp367" => {
            Own::Ascii
        }
        "latin-1" | "latin1" | "l1" | "iso-8859-1" | "iso8859-1" | "8859" | "cp819" | "latin"
        | "iso-ir-100" => Own::Latin1,
        "utf-16" | "utf16" | "u16" => Own::Wide {
            width: 2,
            big: None,
        },
        "utf-16-le" | "utf-16le" | "utf16le" | "utf16-le" => Own::Wide {
            width: 2,
            big: Some(false),
        },
        "utf-16-be" | "utf-16be" | "utf16be" | "utf16-be" => Own::Wide {
            width: 2,
            big: Some(true),
        },
        "utf-32" | "utf32" | "u32" => Own::Wide {
            width: 4,
            big: None,
        },
        "utf-32-le" | "utf-32le" | "utf32le" | "utf32-le" => Own::Wide {
            width: 4,
            big: Some(false),
        },
        "utf-32-be" | "utf-32be" | "utf32be" | "utf32-be" => Own::Wide {
            width: 4,
            big: Some(true),
        },
        _ => return None,
    })
}

/// Bytes as text in the encoding Python's `open(encoding=NAME)` would read them in,
/// strictly; `None` is UTF-8.
pub fn decode(bytes: &[u8], encoding: Option<&str>) -> Result<String, CodecError> {
    let name = normalized(encoding.unwrap_or("utf-8"));
    match own(&name) {
        Some(Own::Utf8) => std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| CodecError::Invalid),
        Some(Own::Utf8Sig) => {
            let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
            decode(bytes, None)
        }
        Some(Own::Ascii) => match bytes.is_ascii() {
            true => Ok(String::from_utf8_lossy(bytes).into_owned()),
            false => Err(CodecError::Invalid),
        },
        Some(Own::Latin1) => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        Some(Own::Wide { width: 4, big }) => {
            let (bytes, big) = match big {
                Some(big) => (bytes, big),
                None if bytes.starts_with(b"\0\0\xfe\xff") => (&bytes[4..], true),
                None => (bytes.strip_prefix(b"\xff\xfe\0\0").unwrap_or(bytes), false),
            };
            if bytes.len() % 4 != 0 {
                return Err(CodecError::Invalid);
            }
            bytes
                .chunks(4)
                .map(|unit| {
                    let unit = [unit[0], unit[1], unit[2], unit[3]];
                    let code = if big {
                        u32::from_be_bytes(unit)
                    } else {
                        u32::from_le_bytes(unit)
                    };
                    char::from_u32(code).ok_or(CodecError::Invalid)
                })
                .collect()
        }
        Some(Own::Wide { big, .. }) => {
            let (bytes, big) = match big {
                Some(big) => (bytes, big),
                None if bytes.starts_with(b"\xfe\xff") => (&bytes[2..], true),
                None => (bytes.strip_prefix(b"\xff\xfe").unwrap_or(bytes), false),
            };
            if bytes.len() % 2 != 0 {
                return Err(CodecError::Invalid);
            }
            let units = bytes.chunks(2).map(|unit| {
                if big {
                    u16::from_be_bytes([unit[0], unit[1]])
                } else {
                    u16::from_le_bytes([unit[0], unit[1]])
                }
            });
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map_err(|_| CodecError::Invalid)
        }
        None => {
            let encoding = encoding_rs::Encoding::for_label(name.as_bytes())
                .filter(|encoding| encoding.output_encoding() == *encoding)
                .ok_or(CodecError::Unknown)?;
            encoding
                .decode_without_bom_handling_and_without_replacement(bytes)
                .map(|text| text.into_owned())
                .ok_or(CodecError::Invalid)
        }
    }
}

/// A character as Python's `UnicodeEncodeError` names it: `'\u20ac'`.
fn python_char(c: char) -> String {
    match u32::from(c) {
        code @ 0..=0xff => format!("'\\x{code:02x}'"),
        code @ 0x100..=0xffff => format!("'\\u{code:04x}'"),
        code => format!("'\\U{code:08x}'"),
    }
}

/// Python's words for a character `codec` cannot write, at `position` (in characters).
fn unencodable(codec: &str, c: char, position: usize, reason: &str) -> CodecError {
    CodecError::Unencodable(format!(
        "'{codec}' codec can't encode character {} in position {position}: {reason}",
        python_char(c)
    ))
}

/// Text as Python's `str.encode(NAME)` writes it, strictly.
pub fn encode(text: &str, encoding: &str) -> Result<Vec<u8>, CodecError> {
    let name = normalized(encoding);
    let below = |limit: u32, codec: &str| -> Result<Vec<u8>, CodecError> {
        text.chars()
            .enumerate()
            .map(|(position, c)| match u8::try_from(u32::from(c)) {
                Ok(byte) if u32::from(byte) < limit => Ok(byte),
                _ => Err(unencodable(
                    codec,
                    c,
                    position,
                    &format!("ordinal not in range({limit})"),
                )),
            })
            .collect()
    };
    match own(&name) {
        Some(Own::Utf8) => Ok(text.as_bytes().to_vec()),
        Some(Own::Utf8Sig) => Ok([b"\xef\xbb\xbf".as_slice(), text.as_bytes()].concat()),
        Some(Own::Ascii) => below(128, "ascii"),
        Some(Own::Latin1) => below(256, "latin-1"),
        Some(Own::Wide { width, big }) => {
            let mut bytes = Vec::new();
            let order = |value: u32, bytes: &mut Vec<u8>| match (width, big == Some(true)) {
                (2, true) => bytes.extend_from_slice(&(value as u16).to_be_bytes()),
                (2, false) => bytes.extend_from_slice(&(value as u16).to_le_bytes()),
                (_, true) => bytes.extend_from_slice(&value.to_be_bytes()),
                (_, false) => bytes.extend_from_slice(&value.to_le_bytes()),
            };
            if big.is_none() {
                order(0xfeff, &mut bytes);
            }
            for c in text.chars() {
                if width == 4 {
                    order(u32::from(c), &mut bytes);
                } else {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        order(u32::from(*unit), &mut bytes);
                    }
                }
            }
            Ok(bytes)
        }
        None => {
            let encoding = encoding_rs::Encoding::for_label(name.as_bytes())
                .filter(|encoding| encoding.output_encoding() == *encoding)
                .ok_or(CodecError::Unknown)?;
            let single_byte = encoding.is_single_byte();
            let mut encoder = encoding.new_encoder();
            let mut bytes = Vec::with_capacity(text.len() + 16);
            for (position, c) in text.chars().enumerate() {
                let mut one = [0u8; 4];
                let mut out = [0u8; 16];
                let (result, _, written) = encoder.encode_from_utf8_without_replacement(
                    c.encode_utf8(&mut one),
                    &mut out,
                    false,
                );
                match result {
                    encoding_rs::EncoderResult::InputEmpty => {
                        bytes.extend_from_slice(&out[..written]);
                    }
                    _ if single_byte => {
                        return Err(unencodable(
                            "charmap",
                            c,
                            position,
                            "character maps to <undefined>",
                        ));
                    }
                    _ => {
                        return Err(unencodable(
                            &name,
                            c,
                            position,
                            "illegal multibyte sequence",
                        ));
                    }
                }
            }
            let mut out = [0u8; 16];
            let (_, _, written) = encoder.encode_from_utf8_without_replacement("", &mut out, true);
            bytes.extend_from_slice(&out[..written]);
            Ok(bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_as_python_encodes() {
        // Each expected from Python 3.11's `str.encode`.
        assert_eq!(encode("é\n", "latin-1").unwrap(), b"\xe9\n");
        assert_eq!(encode("a", "utf-16").unwrap(), b"\xff\xfea\0");
        assert_eq!(encode("a", "UTF_16 BE").unwrap(), b"\0a");
        assert_eq!(encode("a", "utf-32").unwrap(), b"\xff\xfe\0\0a\0\0\0");
        assert_eq!(encode("😀", "utf-16-le").unwrap(), b"\x3d\xd8\x00\xde");
        assert_eq!(encode("€", "cp1252").unwrap(), b"\x80");
        assert_eq!(encode("x", "utf-8-sig").unwrap(), b"\xef\xbb\xbfx");
        assert_eq!(
            encode("euro €", "latin-1"),
            Err(CodecError::Unencodable(
                "'latin-1' codec can't encode character '\\u20ac' in position 5: ordinal not in range(256)"
                    .to_owned()
            ))
        );
        assert_eq!(
            encode("ā", "iso-8859-1"),
            Err(CodecError::Unencodable(
                "'latin-1' codec can't encode character '\\u0101' in position 0: ordinal not in range(256)"
                    .to_owned()
            ))
        );
        assert_eq!(
            encode("aā", "iso-8859-7"),
            Err(CodecError::Unencodable(
                "'charmap' codec can't encode character '\\u0101' in position 1: character maps to <undefined>"
                    .to_owned()
            ))
        );
        assert_eq!(encode("x", "nonesuch"), Err(CodecError::Unknown));
    }

    #[test]
    fn reads_as_python_decodes() {
        assert_eq!(decode(b"\xe9", Some("latin1")).unwrap(), "é");
        assert_eq!(decode(b"\x80", Some("cp1252")).unwrap(), "€");
        assert_eq!(decode(b"\xff\xfea\0", Some("utf-16")).unwrap(), "a");
        assert_eq!(decode(b"\xe9", None), Err(CodecError::Invalid));
        assert_eq!(decode(b"x", Some("nonesuch")), Err(CodecError::Unknown));
    }
}
