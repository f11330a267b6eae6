//! Configuration errors that point at the exact spot: file, line, column, the JSON
//! path of the field, and what is wrong in words an operator can act on.
//!
//! The loader collects every problem it can find into [`ConfigErrors`] rather than
//! stopping at the first one, because fixing a config one error per run is slow and
//! the CLI refuses a bad config whole anyway (design: "safe by default").

use std::fmt;

use crate::domain::escape;

/// One problem in one configuration file.
///
/// `line` and `column` are 1-based (column counts characters); 0 means the problem
/// has no position, such as a missing file. `field` is the JSON path
/// (`customers[3].tier`), empty when the problem is about the file as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    /// `config/customers.json:41:15: customers[3].tier: unknown tier ...`, the
    /// `file:line:column:` shape that editors and terminals turn into links.
    ///
    /// Messages quote configuration text, which may hold what the file was refused
    /// for (an escape sequence, a newline): every part goes through the one escaping
    /// rule, so an error is always one inert line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(&self.file))?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        f.write_str(": ")?;
        if !self.field.is_empty() {
            write!(f, "{}: ", escape(&self.field))?;
        }
        f.write_str(&escape(&self.message))
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in a configuration, in file order and then by position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors {
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.errors.iter()
    }
}

impl fmt::Display for ConfigErrors {
    /// One error per line, so that a terminal, `grep` or an editor's quickfix list
    /// can take them one at a time.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(line: usize, column: usize, field: &str) -> ConfigError {
        ConfigError {
            file: "config/customers.json".into(),
            line,
            column,
            field: field.into(),
            message: "unknown tier `gold`".into(),
        }
    }

    #[test]
    fn displays_file_line_column_field_message() {
        assert_eq!(
            err(41, 15, "customers[3].tier").to_string(),
            "config/customers.json:41:15: customers[3].tier: unknown tier `gold`"
        );
    }

    #[test]
    fn leaves_out_what_it_does_not_know() {
        assert_eq!(
            err(0, 0, "").to_string(),
            "config/customers.json: unknown tier `gold`"
        );
        assert_eq!(
            err(3, 0, "tiers").to_string(),
            "config/customers.json:3: tiers: unknown tier `gold`"
        );
    }

    #[test]
    fn lists_one_error_per_line() {
        let all = ConfigErrors {
            errors: vec![err(1, 2, "a"), err(3, 4, "b")],
        };
        let text = all.to_string();
        assert_eq!(text.lines().count(), 2);
        assert!(text.lines().nth(1).is_some_and(|l| l.contains(":3:4: b:")));
    }
}
