from realtime_hub.cli import main

main()
