module github.com/herald-chat/herald/bench/peer

go 1.26

require github.com/coder/websocket v1.8.15
