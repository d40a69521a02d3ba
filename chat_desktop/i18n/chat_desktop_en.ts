<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en">
<context>
    <name>ChatTray</name>
    <message numerus="yes">
        <location filename="../ui/tray.py" line="+84"/>
        <source>Chat Desktop: %n unread</source>
        <translation>
            <numerusform>Chat Desktop: %n unread</numerusform>
            <numerusform>Chat Desktop: %n unread</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>HostingQuitPrompt</name>
    <message numerus="yes">
        <location filename="../ui/quit_prompt.py" line="+38"/>
        <source>{names} and %n more</source>
        <translation>
            <numerusform>{names} and %n more</numerusform>
            <numerusform>{names} and %n more</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+3"/>
        <source>This computer hosts the chat, and %n colleagues are connected: {names}.</source>
        <translation>
            <numerusform>This computer hosts the chat, and %n colleague is connected: {names}.</numerusform>
            <numerusform>This computer hosts the chat, and %n colleagues are connected: {names}.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message numerus="yes">
        <location filename="../ui/main_window.py" line="+551"/>
        <source>PEOPLE · %n ONLINE</source>
        <translation>
            <numerusform>PEOPLE · %n ONLINE</numerusform>
            <numerusform>PEOPLE · %n ONLINE</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>MembersPanel</name>
    <message numerus="yes">
        <location filename="../ui/members_panel.py" line="+229"/>
        <source>MEMBERS · %n</source>
        <translation>
            <numerusform>MEMBERS · %n</numerusform>
            <numerusform>MEMBERS · %n</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>MessageView</name>
    <message numerus="yes">
        <location filename="../ui/message_view.py" line="+369"/>
        <source>%n new messages</source>
        <translation>
            <numerusform>%n new message</numerusform>
            <numerusform>%n new messages</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>RoomHeader</name>
    <message numerus="yes">
        <location filename="../ui/room_header.py" line="+213"/>
        <source>Members: %n</source>
        <translation>
            <numerusform>Members: %n</numerusform>
            <numerusform>Members: %n</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>RoomListModel</name>
    <message numerus="yes">
        <location filename="../ui/side_bar.py" line="+153"/>
        <source>%n unread</source>
        <translation>
            <numerusform>%n unread</numerusform>
            <numerusform>%n unread</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+8"/>
        <source>{room}, %n unread</source>
        <translation>
            <numerusform>{room}, %n unread</numerusform>
            <numerusform>{room}, %n unread</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>SearchPanel</name>
    <message numerus="yes">
        <location filename="../ui/search_panel.py" line="+422"/>
        <source>%n on this computer</source>
        <translation>
            <numerusform>%n on this computer</numerusform>
            <numerusform>%n on this computer</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+13"/>
        <source>%n from the server</source>
        <translation>
            <numerusform>%n from the server</numerusform>
            <numerusform>%n from the server</numerusform>
        </translation>
    </message>
</context>
</TS>
