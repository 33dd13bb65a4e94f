from mlpcli.entry import main

main()
