from orders_local.cli import main

main()
