"""Notifications: follow a proposal or project, choose which mails to get, one-click
unsubscribe, an outbox sent by ``flask send-notifications``, and an Atom feed per wijk
(docs/notifications.md)."""
