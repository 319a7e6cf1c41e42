"""Scheduled reports: schedules, exactly-once runs per period, rendering (HTML, PDF, CSV), delivery."""
