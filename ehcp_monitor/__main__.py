from ehcp_monitor.cli import main

main()
