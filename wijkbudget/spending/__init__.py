"""Verantwoording: funded projects, expenses, the hash-chained public ledger and the audit desk."""
