//! A walk over a footer's Thrift `FileMetaData` before parquet decodes it.
//!
//! parquet 60 trusts two things in a footer that a few hostile bytes can set
//! (docs/FUZZING.md, findings 5 and 7): it reserves room for every child a schema element
//! declares before reading one (a `num_children` of 1,461,542,906 asked for 11.7 GB), and its
//! skip of a field it does not know costs the declared length of a container, not its bytes.
//! The walk reads the whole footer with the codec's bounded reader ([`thrift`](crate::thrift))
//! and holds each schema element's children to the elements after it, so parquet decodes only
//! a footer whose every count fits its bytes.

use crate::thrift::{Cursor, Wire};

// Field ids of parquet.thrift.
const FILE_METADATA_SCHEMA: i16 = 2;
const SCHEMA_ELEMENT_NUM_CHILDREN: i16 = 5;

/// Checks the serialized `FileMetaData` at the start of `footer`; the error says what is wrong.
pub(crate) fn check_file_metadata(footer: &[u8]) -> Result<(), String> {
    let mut cursor = Cursor::new(footer, 0);
    cursor
        .read_struct(|cursor, id, wire| match (id, wire) {
            (FILE_METADATA_SCHEMA, Wire::List) => check_schema(cursor),
            _ => cursor.skip(wire),
        })
        .map_err(|why| format!("{why} (byte {} of {})", cursor.position(), footer.len()))
}

/// Walks the schema, a list of elements in pre-order: an element's children are among the
/// elements after it, so it cannot have more children than elements follow it.
fn check_schema(cursor: &mut Cursor<'_>) -> Result<(), String> {
    let (count, element) = cursor.list_header()?;
    if element != Wire::Struct {
        return Err(format!(
            "the schema is a list of {element:?}, not of structs"
        ));
    }
    for index in 0..count {
        let mut children = None;
        cursor.read_struct(|cursor, id, wire| match (id, wire) {
            (SCHEMA_ELEMENT_NUM_CHILDREN, Wire::I32) => {
                children = Some(cursor.read_i32()?);
                Ok(())
            }
            _ => cursor.skip(wire),
        })?;
        let following = count - index - 1;
        if let Some(n) = children
            && !u64::try_from(n).is_ok_and(|n| n <= following)
        {
            return Err(format!(
                "schema element {index} declares {n} children, but {following} elements follow it"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `FileMetaData` with a version, then a schema of elements named by their child
    /// counts (`None`: a leaf, which carries none), then a row count.
    fn footer(children: &[Option<i32>]) -> Vec<u8> {
        let zigzag = |v: i32| ((v << 1) ^ (v >> 31)) as u32;
        let mut out = vec![0x15, 0x04]; // field 1, i32 version 2
        out.push(0x19); // field 2, a list
        assert!(children.len() < 15);
        out.push(((children.len() as u8) << 4) | 0x0c); // of structs
        for n in children {
            out.extend([0x48, 0x01, b'x']); // field 4, the name, a binary
            if let Some(n) = n {
                out.push(0x15); // field 5, an i32
                let mut v = zigzag(*n);
                while v >= 0x80 {
                    out.push((v as u8 & 0x7f) | 0x80);
                    v >>= 7;
                }
                out.push(v as u8);
            }
            out.push(0x00);
        }
        out.extend([0x16, 0x06]); // field 3, i64 num_rows 3
        out.push(0x00);
        out
    }

    #[test]
    fn a_schema_tree_passes() {
        let tree = [Some(2), None, Some(1), None];
        assert_eq!(check_file_metadata(&footer(&tree)), Ok(()));
    }

    #[test]
    fn more_children_than_elements_after_them_are_refused() {
        // The fuzz finding's count, on the root, and a count one too many further down.
        for (tree, index, n, following) in [
            (vec![Some(1_461_542_906), None], 0, 1_461_542_906, 1),
            (vec![Some(2), None, Some(2), None], 2, 2, 1),
            (vec![Some(-1), None], 0, -1, 1),
        ] {
            let why = check_file_metadata(&footer(&tree)).unwrap_err();
            let expected = format!(
                "schema element {index} declares {n} children, but {following} elements follow it"
            );
            assert!(why.starts_with(&expected), "{why}");
        }
    }

    #[test]
    fn counts_beyond_the_bytes_are_refused_before_they_are_walked() {
        // A schema list declaring 2^31 elements in a few bytes.
        let mut huge = vec![0x15, 0x04, 0x19, 0xfc, 0x80, 0x80, 0x80, 0x80, 0x08];
        huge.extend([0x00; 4]);
        assert!(
            check_file_metadata(&huge)
                .unwrap_err()
                .contains("elements declared")
        );
        // Finding 5: a map of 221,725,288 boolean pairs in 6 bytes, in a field parquet skips.
        let map = [0x15, 0x04, 0x2b, 0xe8, 0x84, 0xdd, 0x69, 0x11, 0x00];
        assert!(
            check_file_metadata(&map)
                .unwrap_err()
                .contains("elements declared")
        );
        let truncated = footer(&[Some(1), None]);
        for end in 0..truncated.len() - 1 {
            assert!(check_file_metadata(&truncated[..end]).is_err(), "{end}");
        }
    }
}
