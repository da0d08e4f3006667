//! The books: customer accounts and ledgers, invoices (drafts, lines, issue, void, PDF), credit notes, refunds, discounts, report exports.

pub mod books;
pub mod credit_notes;
pub mod discounts;
#[cfg(feature = "pdf")]
pub mod invoice_pdf;
pub mod manual_invoices;
#[cfg(feature = "csv")]
pub mod report_csv;
