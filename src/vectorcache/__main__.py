from vectorcache.cli.main import main

main()
