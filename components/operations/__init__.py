"""Operations: monitoring, alert rules and routing, CloudWatch alarms, dashboards, audit,
log shipping and notifications."""
