"""The widgets: windows, dialogs, list models and delegates.

Nothing here touches the network or the database: every widget takes the
controller (:mod:`chat_desktop.controller`) and connects to its signals in
one place. :class:`~.main_window.MainWindow` is the chat window and
:class:`~.sign_in.SignInDialog` the first-start dialog; the conversation is a
:class:`~.message_view.MessageView` over a
:class:`~.message_model.MessageListModel` painted by a
:class:`~.message_delegate.MessageDelegate`.
"""
