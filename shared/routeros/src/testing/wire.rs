//! The RouterOS API wire format, written independently of mikrotik-rs so the test server checks
//! the client rather than agreeing with it: a word is its length (1 to 5 bytes) and its bytes; a
//! sentence is words ended by an empty word.

use tokio::io::{AsyncRead, AsyncReadExt};

pub fn encode_length(len: usize, out: &mut Vec<u8>) {
    let n = len as u32;
    if n < 0x80 {
        out.push(n as u8);
    } else if n < 0x4000 {
        out.extend_from_slice(&((n | 0x8000) as u16).to_be_bytes());
    } else if n < 0x20_0000 {
        let v = n | 0xC0_0000;
        out.extend_from_slice(&v.to_be_bytes()[1..]);
    } else if n < 0x1000_0000 {
        out.extend_from_slice(&(n | 0xE000_0000).to_be_bytes());
    } else {
        out.push(0xF0);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

pub fn encode_sentence(words: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for w in words {
        encode_length(w.len(), &mut out);
        out.extend_from_slice(w.as_bytes());
    }
    out.push(0);
    out
}

async fn read_length<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<usize> {
    let first = r.read_u8().await?;
    let (extra, mut value) = if first & 0x80 == 0 {
        (0, first as u32)
    } else if first & 0xC0 == 0x80 {
        (1, (first & 0x3F) as u32)
    } else if first & 0xE0 == 0xC0 {
        (2, (first & 0x1F) as u32)
    } else if first & 0xF0 == 0xE0 {
        (3, (first & 0x0F) as u32)
    } else if first == 0xF0 {
        (4, 0)
    } else {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "bad length prefix"));
    };
    for _ in 0..extra {
        value = (value << 8) | r.read_u8().await? as u32;
    }
    Ok(value as usize)
}

/// Reads one sentence; `Ok(None)` at a clean end of stream between sentences.
pub async fn read_sentence<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Option<Vec<String>>> {
    let mut words = Vec::new();
    loop {
        let len = match read_length(r).await {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && words.is_empty() => return Ok(None),
            Err(e) => return Err(e),
        };
        if len == 0 {
            return Ok(Some(words));
        }
        if len > 1 << 20 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "word too long"));
        }
        let mut buf = vec![0u8; len];
        r.read_exact(&mut buf).await?;
        words.push(String::from_utf8_lossy(&buf).into_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn lengths_round_trip(len in prop_oneof![0usize..300, 0x3F00usize..0x4100, 0xF_FF00usize..0x10_0000]) {
            let word = "x".repeat(len);
            let bytes = encode_sentence(std::slice::from_ref(&word));
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let back = rt.block_on(async { read_sentence(&mut bytes.as_slice()).await.unwrap().unwrap() });
            prop_assert_eq!(back, if len == 0 { vec![] } else { vec![word] });
        }
    }

    #[test]
    fn length_prefixes_are_the_documented_ones() {
        let enc = |n| {
            let mut v = Vec::new();
            encode_length(n, &mut v);
            v
        };
        assert_eq!(enc(0x7F), vec![0x7F]);
        assert_eq!(enc(0x80), vec![0x80, 0x80]);
        assert_eq!(enc(0x3FFF), vec![0xBF, 0xFF]);
        assert_eq!(enc(0x4000), vec![0xC0, 0x40, 0x00]);
        assert_eq!(enc(0x20_0000), vec![0xE0, 0x20, 0x00, 0x00]);
        assert_eq!(enc(0x1000_0000), vec![0xF0, 0x10, 0x00, 0x00, 0x00]);
    }
}
